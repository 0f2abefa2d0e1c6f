//! The options every command that reads hash lists shares.

use clap::{Args, ValueEnum};
use vigie_bank::{ImportOptions, ListFormat, SignalType};

use crate::bank_file::ListOptions;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The lists' format (default: detected from each file's content, then its extension).
    #[arg(long, value_enum, value_name = "FORMAT")]
    list_format: Option<Format>,

    /// Stop at the first line that cannot be read instead of reporting it and going on.
    #[arg(long)]
    strict: bool,

    /// What a bare 64-hex-digit value in a list is: a PDQ hash or a SHA-256 digest.
    #[arg(long, value_enum, default_value_t = Hex64::Pdq, value_name = "TYPE")]
    hex64: Hex64,
}

/// A hash-list format, as the command line names it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Csv,
    Threatexchange,
    Vics,
    Ncmec,
}

impl From<Format> for ListFormat {
    fn from(format: Format) -> ListFormat {
        match format {
            Format::Text => ListFormat::Text,
            Format::Csv => ListFormat::Csv,
            Format::Threatexchange => ListFormat::ThreatExchange,
            Format::Vics => ListFormat::Vics,
            Format::Ncmec => ListFormat::NcmecXml,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Hex64 {
    Pdq,
    Sha256,
}

impl ListArgs {
    pub fn options(&self) -> ListOptions {
        ListOptions {
            format: self.list_format.map(ListFormat::from),
            import: ImportOptions {
                strict: self.strict,
                hex64: match self.hex64 {
                    Hex64::Pdq => SignalType::Pdq,
                    Hex64::Sha256 => SignalType::Sha256,
                },
            },
        }
    }
}
