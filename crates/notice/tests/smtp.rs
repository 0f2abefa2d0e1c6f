//! Notices through a real SMTP conversation with the crate's own mail sink on loopback
//! (`vigie_notice::sink`), which speaks the protocol's server side and keeps what it is sent.

use std::time::Duration;

use vigie_notice::sink::SmtpSink;
use vigie_notice::{Language, Mailer, Notice, RecipientKind, Security, Sender, SmtpSettings};

fn notice(language: Language) -> Notice {
    Notice {
        id: "item-7-1".into(),
        reference: "VG-ITEM-7".into(),
        language,
        recipient: RecipientKind::Host,
        urls: vec!["https://files.example-host.net/a/photo.jpg".into()],
        classification: "ICCAM baseline".into(),
        first_reported_at: 1_764_547_200_000,
        sequence: 1,
        first_notice_at: None,
        sender: Sender {
            name: "Vigie Test Hotline".into(),
            email: "notices@hotline.example".into(),
            country: "FR".into(),
        },
    }
}

fn settings(port: u16) -> SmtpSettings {
    SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        credentials: None,
        from: "Vigie Test Hotline <notices@hotline.example>".into(),
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn a_notice_arrives_in_its_language_with_its_own_message_id() {
    let sink = SmtpSink::start().await.unwrap();
    let port = sink.port;
    let mailer = Mailer::new(&settings(port)).unwrap();
    mailer
        .send(&notice(Language::Fr), "abuse@example-host.net")
        .await
        .unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.from, "<NOTICES@HOTLINE.EXAMPLE>");
    assert_eq!(message.to, ["<ABUSE@EXAMPLE-HOST.NET>"]);
    assert!(message
        .data
        .contains("Message-ID: <notice-item-7-1@hotline.example>"));
    assert!(message
        .data
        .contains("Content-Type: text/plain; charset=utf-8"));
    // The subject is encoded (it has accents); the body names the URL and the reference.
    assert!(message.data.contains("Subject: "));
    assert!(message
        .data
        .contains("https://files.example-host.net/a/photo.jpg"));
    assert!(message.data.contains("VG-ITEM-7"));
}

#[tokio::test]
async fn an_unreachable_server_is_a_failure_to_retry_and_bad_addresses_are_refused() {
    // A port nothing listens on: bind one, then free it.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = Mailer::new(&settings(port)).unwrap();
    let error = mailer
        .send(&notice(Language::En), "abuse@example-host.net")
        .await
        .unwrap_err();
    assert!(matches!(error, vigie_notice::NoticeError::NotDelivered(_)));
    let error = mailer
        .send(&notice(Language::En), "not an address")
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        vigie_notice::NoticeError::InvalidAddress { .. }
    ));
    let mut bad = settings(port);
    bad.from = "nobody".into();
    assert!(Mailer::new(&bad).is_err());
}
