//! Notices through a real SMTP conversation: a sink on loopback speaks the protocol's server
//! side (greeting, EHLO, MAIL, RCPT, DATA, QUIT) and keeps what it was sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use vigie_notice::{Language, Mailer, Notice, RecipientKind, Security, Sender, SmtpSettings};

/// One message as the sink received it.
#[derive(Debug, Clone, Default)]
struct Received {
    from: String,
    to: Vec<String>,
    data: String,
}

/// Starts the sink; returns its port and what it receives.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inbox = Arc::new(Mutex::new(Vec::new()));
    let kept = inbox.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let inbox = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut message = Received::default();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if let Some(from) = upper.strip_prefix("MAIL FROM:") {
                        message.from = from.trim().to_string();
                        b"250 ok\r\n"
                    } else if let Some(to) = upper.strip_prefix("RCPT TO:") {
                        message.to.push(to.trim().to_string());
                        b"250 ok\r\n"
                    } else if upper == "DATA" {
                        write.write_all(b"354 go on\r\n").await.unwrap();
                        while let Ok(Some(data)) = lines.next_line().await {
                            if data == "." {
                                break;
                            }
                            message.data.push_str(&data);
                            message.data.push('\n');
                        }
                        inbox.lock().unwrap().push(std::mem::take(&mut message));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, inbox)
}

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
    let (port, inbox) = smtp_sink().await;
    let mailer = Mailer::new(&settings(port)).unwrap();
    mailer
        .send(&notice(Language::Fr), "abuse@example-host.net")
        .await
        .unwrap();
    let received = inbox.lock().unwrap().clone();
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
