//! A mail sink: the server side of SMTP (greeting, EHLO, MAIL, RCPT, DATA, QUIT) on loopback,
//! keeping every message it is sent. The tests of every crate that sends notices use it as
//! their "real SMTP server", and an operator can point a trial `vigie worker` at it. It
//! delivers nothing anywhere.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope's sender and recipients, as given (upper-cased by the protocol reader).
    pub from: String,
    pub to: Vec<String>,
    /// The message, headers and body, lines joined with `\n`.
    pub data: String,
}

impl ReceivedMail {
    /// The value of a header of the message (`Message-ID`), if it has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name).then(|| value.trim())
            })
    }
}

/// A running sink; it stops with the runtime.
#[derive(Debug, Clone)]
pub struct SmtpSink {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&inbox);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(converse(stream, Arc::clone(&kept)));
            }
        });
        Ok(SmtpSink { port, inbox })
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox
            .lock()
            .map(|inbox| inbox.clone())
            .unwrap_or_default()
    }
}

/// One SMTP conversation; a client that breaks it off just ends it.
async fn converse(stream: tokio::net::TcpStream, inbox: Arc<Mutex<Vec<ReceivedMail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut message = ReceivedMail::default();
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
            if write.write_all(b"354 go on\r\n").await.is_err() {
                return;
            }
            while let Ok(Some(data)) = lines.next_line().await {
                if data == "." {
                    break;
                }
                message.data.push_str(&data);
                message.data.push('\n');
            }
            if let Ok(mut inbox) = inbox.lock() {
                inbox.push(std::mem::take(&mut message));
            }
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 ok\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
