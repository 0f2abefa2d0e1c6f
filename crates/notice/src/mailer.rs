//! Sending notices by SMTP (lettre).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{render, Notice, NoticeError};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// A plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// No TLS at all: only for a relay on the same machine, or a test's sink.
    None,
}

/// Where and how notices are sent.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password, if the server asks.
    pub credentials: Option<(String, String)>,
    /// The hotline's sending address (`Vigie Hotline <notices@hotline.example>`).
    pub from: String,
    /// How long one delivery may take before it counts as failed (and is retried later).
    pub timeout: Duration,
}

/// Sends notices through one mail server.
#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, NoticeError> {
        let from = mailbox(&settings.from)?;
        let builder = match settings.security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
            }
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &settings.host,
            )),
        }
        .map_err(|error| NoticeError::InvalidSettings(error.to_string()))?;
        let mut builder = builder.port(settings.port).timeout(Some(settings.timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    /// Writes the notice in its language and sends it to `to`. Its `Message-ID` is made from
    /// the notice's id, so that a notice sent again after a crash between sending and recording
    /// is recognisably the same message.
    pub async fn send(&self, notice: &Notice, to: &str) -> Result<(), NoticeError> {
        let rendered = render(notice)?;
        let domain = self.from.email.domain().to_string();
        let message = Message::builder()
            .from(self.from.clone())
            .to(mailbox(to)?)
            .subject(rendered.subject)
            .message_id(Some(format!("<notice-{}@{domain}>", notice.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(rendered.body)
            .map_err(|error| NoticeError::Template(error.to_string()))?;
        self.transport
            .send(message)
            .await
            .map_err(|error| NoticeError::NotDelivered(error.to_string()))?;
        Ok(())
    }
}

fn mailbox(address: &str) -> Result<Mailbox, NoticeError> {
    address.parse().map_err(
        |error: lettre::address::AddressError| NoticeError::InvalidAddress {
            address: address.to_string(),
            reason: error.to_string(),
        },
    )
}
