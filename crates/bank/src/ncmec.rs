//! NCMEC hash-sharing API v2 XML: the `queryResult` documents of `/v2/entries`.
//!
//! No schema is published; the shape comes from the fixtures in
//! `shared/schemas/ncmec-hashsharing-v2/` and from how facebook/ThreatExchange's
//! `python-threatexchange/threatexchange/exchanges/clients/ncmec/hash_api.py` reads them
//! (commit 00c61767cfb58ab7ac2478ba6899c6e8c1c2e6e6; code read, none copied): namespaces are
//! ignored; `<images>` and `<videos>` under the root hold `<image>`/`<video>` records and
//! `<deletedImage>`/`<deletedVideo>` tombstones; a record's `<id>` and `<classification>` are
//! its direct children, and each child of `<fingerprints>` is one hash named by its tag.
//!
//! Reading streams with quick-xml, one record at a time, so a 100-million-record export costs
//! one record of memory. `<md5>`, `<sha1>` and `<pdna>` (PhotoDNA, kept as given) become
//! signals; fingerprints given only as links (`<tmk-pdqf href=...>`, `<videntifier>`) are not
//! hashes and are skipped. The classification is the category, the record kind is the tag
//! `image` or `video`, and a tombstone is an entry with its id, no signals and `deleted`. A
//! record without an id, or a live one without a hash kept here, is a problem on the line of
//! its start tag. A document whose root is not `queryResult`, or that is not well-formed XML,
//! is an error.
//!
//! Writing gives a `queryResult` with an `<images>` and a `<videos>` group (entries tagged
//! `video` go in the second), which needs every entry in hand, so the writer keeps references
//! to them (not copies). Every entry needs an id. PDQ and SHA-256 have no NCMEC element, so they
//! are written as `<pdq>` and `<sha256>` fingerprints, which this reader and python's (any
//! child of `<fingerprints>`) accept. Tags other than `image`/`video` are not kept, nor are
//! the member, timestamps and feedback, which are NCMEC's bookkeeping rather than the list.

use std::io::{BufRead, Write};

use quick_xml::escape::escape;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::import::Collector;
use crate::{category_of, newlines, BankError, BankInfo, Entry, ListFormat, Signal, SignalType};

/// The namespace of hash-sharing v2 documents.
const NCMEC_NAMESPACE: &str = "https://hashsharing.ncmec.org/hashsharing/v2";

/// The record being read, from its start tag to its end tag.
struct Record {
    line: u64,
    kind: &'static str,
    deleted: bool,
    id: Option<String>,
    category: Option<String>,
    signals: Vec<Signal>,
    error: Option<String>,
}

impl Record {
    /// Starts a record if `name` is one of the four record elements.
    fn start(name: &[u8], line: u64) -> Option<Record> {
        let (kind, deleted) = match name {
            b"image" => ("image", false),
            b"video" => ("video", false),
            b"deletedImage" => ("image", true),
            b"deletedVideo" => ("video", true),
            _ => return None,
        };
        Some(Record {
            line,
            kind,
            deleted,
            id: None,
            category: None,
            signals: Vec::new(),
            error: None,
        })
    }

    fn fingerprint(&mut self, name: &str, text: &str) {
        let Some(signal_type) = SignalType::from_alias(name) else {
            return;
        };
        match Signal::parse(signal_type, text) {
            Ok(signal) => self.signals.push(signal),
            Err(e) => {
                self.error.get_or_insert(format!("<{name}>: {e}"));
            }
        }
    }

    fn finish(self) -> Result<Entry, String> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let element = match (self.kind, self.deleted) {
            ("image", false) => "image",
            ("image", true) => "deletedImage",
            (_, false) => "video",
            (_, true) => "deletedVideo",
        };
        let Some(id) = self.id else {
            return Err(format!("the <{element}> record has no <id>"));
        };
        if self.signals.is_empty() && !self.deleted {
            return Err(format!(
                "the <{element}> record {id} has no md5, sha1 or pdna fingerprint"
            ));
        }
        Ok(Entry {
            id: Some(id),
            signals: self.signals,
            category: self.category,
            tags: vec![self.kind.to_string()],
            files: Vec::new(),
            deleted: self.deleted,
        })
    }
}

pub(crate) fn read<R: BufRead, S: FnMut(Entry)>(
    reader: R,
    collector: &mut Collector<'_, S>,
) -> Result<(), BankError> {
    let not_ncmec = |collector: &Collector<'_, S>, reason: String| BankError::NotTheFormat {
        file: collector.source().to_string(),
        format: ListFormat::NcmecXml,
        reason,
    };
    let mut reader = Reader::from_reader(reader);
    let mut buffer = Vec::new();
    // Local names of the open elements, root first.
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut record: Option<Record> = None;
    let mut text = String::new();
    let mut line = 1u64;
    let mut seen_root = false;
    loop {
        buffer.clear();
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| not_ncmec(collector, format!("line {line}: {e}")))?;
        // Line numbers come from the newlines inside every event; the `<`, `>` around them
        // hold none, so the count is exact wherever a line break falls.
        let start_line = line;
        line += newlines(event_bytes(&event));
        match event {
            Event::Start(ref element) | Event::Empty(ref element) => {
                let name = element.local_name().as_ref().to_vec();
                if !seen_root {
                    if name != b"queryResult" {
                        return Err(not_ncmec(
                            collector,
                            format!(
                                "the root element is <{}>, not <queryResult>",
                                String::from_utf8_lossy(&name)
                            ),
                        ));
                    }
                    seen_root = true;
                }
                if path.len() == 2 && record.is_none() {
                    record = Record::start(&name, start_line);
                }
                text.clear();
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                } else if path.len() == 2 {
                    // An empty record element: a record with nothing in it.
                    if let Some(empty) = record.take() {
                        collector.record(empty.line, empty.finish())?;
                    }
                }
            }
            Event::Text(content) => {
                if record.is_some() {
                    let content = content
                        .unescape()
                        .map_err(|e| not_ncmec(collector, format!("line {start_line}: {e}")))?;
                    text.push_str(&content);
                }
            }
            Event::CData(content) => {
                if record.is_some() {
                    text.push_str(&String::from_utf8_lossy(&content));
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if let Some(current) = record.as_mut() {
                    let value = text.trim();
                    match path.len() {
                        2 => {
                            if let Some(done) = record.take() {
                                collector.record(done.line, done.finish())?;
                            }
                        }
                        3 if name == b"id" && !value.is_empty() => {
                            current.id = Some(value.to_string());
                        }
                        3 if name == b"classification" && !value.is_empty() => {
                            current.category = Some(value.to_string());
                        }
                        4 if path[3] == b"fingerprints" && !value.is_empty() => {
                            current.fingerprint(&String::from_utf8_lossy(&name), value);
                        }
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => {
                if let Some(open) = path.last() {
                    return Err(not_ncmec(
                        collector,
                        format!(
                            "the document ends inside <{}>",
                            String::from_utf8_lossy(open)
                        ),
                    ));
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(not_ncmec(
            collector,
            "the document has no root element".to_string(),
        ));
    }
    Ok(())
}

/// The raw text of an event, where its newlines are.
fn event_bytes<'e>(event: &'e Event<'_>) -> &'e [u8] {
    match event {
        Event::Start(e) | Event::Empty(e) => e,
        Event::End(e) => e,
        Event::Text(e) | Event::Comment(e) | Event::DocType(e) => e,
        Event::CData(e) => e,
        Event::Decl(e) => e,
        Event::PI(e) => e,
        Event::Eof => &[],
    }
}

/// How NCMEC names each fingerprint element.
fn element_name(signal_type: SignalType) -> &'static str {
    match signal_type {
        SignalType::Md5 => "md5",
        SignalType::Sha1 => "sha1",
        SignalType::PhotoDna => "pdna",
        SignalType::Pdq => "pdq",
        SignalType::Sha256 => "sha256",
    }
}

pub(crate) fn write<'a, W: Write>(
    mut writer: W,
    bank: &BankInfo,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), BankError> {
    let mut images = Vec::new();
    let mut videos = Vec::new();
    for entry in entries {
        if entry.id.is_none() {
            return Err(BankError::CannotWrite {
                format: ListFormat::NcmecXml,
                reason: format!(
                    "NCMEC records are identified by id, and the entry with {} has none",
                    entry
                        .signals
                        .first()
                        .map_or_else(|| "no signal".to_string(), Signal::to_string)
                ),
            });
        }
        if entry.tags.iter().any(|t| t == "video") {
            videos.push(entry);
        } else {
            images.push(entry);
        }
    }
    writeln!(
        writer,
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <queryResult xmlns=\"{NCMEC_NAMESPACE}\">"
    )?;
    for (group, kind, deleted_kind, members) in [
        ("images", "image", "deletedImage", images),
        ("videos", "video", "deletedVideo", videos),
    ] {
        writeln!(writer, "    <{group} count=\"{}\">", members.len())?;
        for entry in members {
            let element = if entry.deleted { deleted_kind } else { kind };
            writeln!(writer, "        <{element}>")?;
            let id = entry.id.as_deref().unwrap_or_default();
            writeln!(writer, "            <id>{}</id>", escape(id))?;
            if let Some(category) = category_of(entry, bank) {
                writeln!(
                    writer,
                    "            <classification>{}</classification>",
                    escape(category)
                )?;
            }
            if !entry.signals.is_empty() {
                writeln!(writer, "            <fingerprints>")?;
                for signal in &entry.signals {
                    let name = element_name(signal.signal_type);
                    writeln!(
                        writer,
                        "                <{name}>{}</{name}>",
                        escape(&signal.value)
                    )?;
                }
                writeln!(writer, "            </fingerprints>")?;
            }
            writeln!(writer, "        </{element}>")?;
        }
        writeln!(writer, "    </{group}>")?;
    }
    writeln!(writer, "</queryResult>")?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_list, write_list, ImportOptions, ImportSummary};

    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";

    fn read_xml(
        text: &str,
        options: &ImportOptions,
    ) -> Result<(Vec<Entry>, ImportSummary), BankError> {
        let mut entries = Vec::new();
        let summary = read_list(
            "entries.xml",
            text.as_bytes(),
            ListFormat::NcmecXml,
            options,
            |e| entries.push(e),
        )?;
        Ok((entries, summary))
    }

    #[test]
    fn bad_records_are_problems_on_their_lines() {
        let text = format!(
            "<?xml version=\"1.0\"?>\n<ns:queryResult xmlns:ns=\"{NCMEC_NAMESPACE}\">\n<ns:images>\n\
             <ns:image><ns:id>a&amp;b</ns:id><ns:fingerprints><ns:md5>{}</ns:md5></ns:fingerprints></ns:image>\n\
             <ns:image>\n<ns:fingerprints><ns:md5>{MD5}</ns:md5></ns:fingerprints>\n</ns:image>\n\
             <ns:image><ns:id>x</ns:id><ns:fingerprints><ns:sha1>zz</ns:sha1></ns:fingerprints></ns:image>\n\
             <ns:image><ns:id>y</ns:id><!-- a\ncomment --></ns:image>\n\
             <ns:image/>\n\
             </ns:images>\n</ns:queryResult>\n",
            MD5.to_uppercase()
        );
        let (entries, summary) = read_xml(&text, &ImportOptions::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].id.as_deref(), Some("a&b"));
        assert_eq!(entries[0].signals[0].value, MD5);
        let problems: Vec<_> = summary
            .problems
            .iter()
            .map(|p| (p.line, p.reason.as_str()))
            .collect();
        assert_eq!(
            problems,
            [
                (5, "the <image> record has no <id>"),
                (
                    8,
                    "<sha1>: 'zz' is not a SHA-1 hash: expected 40 hex digits, found 2 characters"
                ),
                (
                    9,
                    "the <image> record y has no md5, sha1 or pdna fingerprint"
                ),
                (11, "the <image> record has no <id>"),
            ]
        );
        let strict = ImportOptions {
            strict: true,
            ..ImportOptions::default()
        };
        let error = read_xml(&text, &strict).unwrap_err();
        assert!(
            matches!(error, BankError::InvalidLine { line: 5, .. }),
            "{error}"
        );
    }

    #[test]
    fn documents_that_are_not_ncmec() {
        for text in [
            "<report><x/></report>",
            "",
            "<queryResult><images>",
            "just text",
        ] {
            let error = read_xml(text, &ImportOptions::default()).unwrap_err();
            assert!(
                matches!(error, BankError::NotTheFormat { .. }),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn round_trip() {
        let signal = |t, v: &str| Signal::parse(t, v).unwrap();
        let entries = vec![
            Entry {
                id: Some("img<1>".to_string()),
                signals: vec![
                    signal(SignalType::Md5, MD5),
                    signal(SignalType::Sha1, SHA1),
                    signal(SignalType::PhotoDna, &"Zz+/".repeat(48)),
                    signal(SignalType::Pdq, &"a".repeat(64)),
                    signal(SignalType::Sha256, &"b".repeat(64)),
                ],
                category: Some("A1".to_string()),
                tags: vec!["image".to_string()],
                files: Vec::new(),
                deleted: false,
            },
            Entry {
                id: Some("gone".to_string()),
                tags: vec!["image".to_string()],
                deleted: true,
                ..Entry::default()
            },
            Entry {
                id: Some("v1".to_string()),
                signals: vec![signal(SignalType::Md5, &"c".repeat(32))],
                category: Some("B2".to_string()),
                tags: vec!["video".to_string()],
                files: Vec::new(),
                deleted: false,
            },
        ];
        let mut out = Vec::new();
        write_list(
            &mut out,
            ListFormat::NcmecXml,
            &BankInfo::new("b"),
            &entries,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let (read, summary) = read_xml(&text, &ImportOptions::default()).unwrap();
        assert_eq!(summary.problem_count, 0, "{:?}", summary.problems);
        assert_eq!(read, entries);
    }

    #[test]
    fn entries_without_id_cannot_be_written() {
        let entry = Entry {
            signals: vec![Signal::parse(SignalType::Md5, MD5).unwrap()],
            ..Entry::default()
        };
        let error = write_list(
            Vec::new(),
            ListFormat::NcmecXml,
            &BankInfo::new("b"),
            [&entry],
        )
        .unwrap_err();
        assert!(matches!(error, BankError::CannotWrite { .. }), "{error}");
    }
}
