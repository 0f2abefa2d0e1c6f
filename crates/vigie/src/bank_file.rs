//! Banks as the commands use them: built from hash lists, saved as `.vidx` files, loaded back.
//!
//! A `.vidx` file is an index snapshot (`vigie-index`: PDQ hashes and MD5/SHA-1/SHA-256
//! digests, mapped, checksummed) whose payload describes the bank and its entries. Entry `i` of
//! the bank has id `i` in the index; the payload gives its label (the source's own id) and
//! category without parsing anything at load time, so a bank of 100 million entries opens as
//! fast as its index maps:
//!
//! ```text
//! u32 length of the JSON header, the header ({"bank": BankInfo, "categories": [..]})
//! u64 number of entries n
//! n x u16 category (0: none, k: categories[k - 1])
//! (n + 1) x u64 offsets of the labels in the label bytes
//! label bytes (UTF-8)
//! ```

use std::fs::File;
use std::io::{BufReader, Read as _};
use std::path::Path;

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use vigie_bank::{
    detect_format, merge_duplicates, read_list, BankInfo, Entry, ImportOptions, ImportSummary,
    ListFormat, Signal, SignalType,
};
use vigie_hash::hex;
use vigie_index::{DigestSet, Hash256, PdqIndex, SignalIndex, SnapshotError};

/// Bytes of a list read to guess its format.
const SNIFF: usize = 8192;

/// A bank ready to match against.
#[derive(Debug)]
pub struct Bank {
    pub info: BankInfo,
    pub index: SignalIndex,
    table: EntryTable,
}

/// The header of a bank payload.
#[derive(Debug, Serialize, Deserialize)]
struct PayloadHeader {
    bank: BankInfo,
    categories: Vec<String>,
}

/// Labels and categories of a bank's entries, read in place from the payload bytes.
#[derive(Debug)]
struct EntryTable {
    bytes: Payload,
    categories: Vec<String>,
    entries: usize,
    /// Where the category array, the label offsets and the label bytes start.
    category_start: usize,
    offset_start: usize,
    label_start: usize,
}

/// The payload, mapped with the snapshot or built in memory.
#[derive(Debug)]
enum Payload {
    Snapshot(vigie_index::Payload),
    Owned(Vec<u8>),
}

impl Payload {
    fn bytes(&self) -> &[u8] {
        match self {
            Payload::Snapshot(payload) => payload,
            Payload::Owned(bytes) => bytes,
        }
    }
}

/// What one entry is, for a match report.
#[derive(Debug, Clone, Copy)]
pub struct EntryInfo<'a> {
    pub label: &'a str,
    pub category: Option<&'a str>,
}

impl Bank {
    /// The label and category of entry `id` (the bank's default category when it has none).
    pub fn entry(&self, id: u64) -> EntryInfo<'_> {
        let table = &self.table;
        let bytes = table.bytes.bytes();
        let i = id as usize;
        if i >= table.entries {
            return EntryInfo {
                label: "",
                category: self.info.default_category.as_deref(),
            };
        }
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let start = u64_at(table.offset_start + 8 * i) as usize;
        let end = u64_at(table.offset_start + 8 * i + 8) as usize;
        let label = std::str::from_utf8(&bytes[table.label_start + start..table.label_start + end])
            .unwrap_or("");
        let category = match table.category_number(id) {
            None => self.info.default_category.as_deref(),
            Some(k) => table.categories.get(k).map(String::as_str),
        };
        EntryInfo { label, category }
    }

    /// The PDQ radius to match at: the caller's, or the bank's own threshold.
    pub fn radius(&self, asked: Option<u32>) -> u32 {
        asked.unwrap_or(self.info.pdq_threshold)
    }

    /// Builds a bank from entries (already merged).
    pub fn from_entries(info: BankInfo, entries: &[Entry]) -> anyhow::Result<Bank> {
        let mut pdq = Vec::new();
        let (mut md5, mut sha1, mut sha256) = (Vec::new(), Vec::new(), Vec::new());
        for (id, entry) in entries.iter().enumerate() {
            let id = id as u64;
            for signal in &entry.signals {
                let value = signal.value.as_str();
                match signal.signal_type {
                    SignalType::Pdq => pdq.push((id, Hash256::from_bytes(&decode_hex(value)?))),
                    SignalType::Md5 => md5.push((id, decode_hex(value)?)),
                    SignalType::Sha1 => sha1.push((id, decode_hex(value)?)),
                    SignalType::Sha256 => sha256.push((id, decode_hex(value)?)),
                    // PhotoDNA values are kept by the lists but cannot be matched here:
                    // the algorithm is Microsoft's and not public.
                    SignalType::PhotoDna => {}
                }
            }
        }
        let index = SignalIndex {
            pdq: PdqIndex::from_entries(pdq),
            md5: DigestSet::from_entries(md5),
            sha1: DigestSet::from_entries(sha1),
            sha256: DigestSet::from_entries(sha256),
        };
        let payload = encode_payload(&info, entries)?;
        let table = EntryTable::read(Payload::Owned(payload))?.table;
        Ok(Bank { info, index, table })
    }

    /// The bank's entries as a list would hold them: the label as the id, the category, and
    /// every hash stored under the entry (tags and file paths are not kept in bank files).
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries: Vec<Entry> = (0..self.table.entries as u64)
            .map(|id| {
                let info = self.entry(id);
                Entry {
                    id: (!info.label.is_empty()).then(|| info.label.to_string()),
                    category: self
                        .table
                        .category_number(id)
                        .map(|k| self.table.categories[k].clone()),
                    ..Entry::default()
                }
            })
            .collect();
        let mut add = |id: u64, signal_type, bytes: &[u8]| {
            if let Some(entry) = entries.get_mut(id as usize) {
                entry.signals.push(Signal {
                    signal_type,
                    value: hex(bytes),
                });
            }
        };
        for (id, hash) in self.index.pdq.entries() {
            add(id, SignalType::Pdq, &hash.to_bytes());
        }
        for (id, digest) in self.index.md5.entries() {
            add(id, SignalType::Md5, &digest);
        }
        for (id, digest) in self.index.sha1.entries() {
            add(id, SignalType::Sha1, &digest);
        }
        for (id, digest) in self.index.sha256.entries() {
            add(id, SignalType::Sha256, &digest);
        }
        entries
    }

    /// Saves the bank as a `.vidx` file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        self.index.save(path, self.table.bytes.bytes())?;
        Ok(())
    }

    /// Loads a `.vidx` file.
    pub fn load(path: &Path) -> Result<Bank, SnapshotError> {
        let (index, payload) = SignalIndex::load(path)?.into_parts();
        let table = EntryTable::read(Payload::Snapshot(payload)).map_err(|error| {
            SnapshotError::Corrupt {
                path: path.to_path_buf(),
                reason: format!("bank payload: {error:#}"),
            }
        })?;
        let info = table.info.clone();
        Ok(Bank {
            info,
            index,
            table: table.table,
        })
    }
}

/// An entry table and the bank header read with it.
struct ReadTable {
    info: BankInfo,
    table: EntryTable,
}

impl EntryTable {
    /// The entry's own category, as a position in `categories`.
    fn category_number(&self, id: u64) -> Option<usize> {
        let at = self.category_start + 2 * id as usize;
        let bytes = self.bytes.bytes().get(at..at + 2)?;
        match u16::from_le_bytes([bytes[0], bytes[1]]) {
            0 => None,
            k => Some(usize::from(k) - 1),
        }
    }

    fn read(bytes: Payload) -> anyhow::Result<ReadTable> {
        let raw = bytes.bytes();
        let take = |at: usize, len: usize| {
            raw.get(at..at + len)
                .context("the payload is shorter than its header says")
        };
        let header_len = u32::from_le_bytes(take(0, 4)?.try_into().unwrap()) as usize;
        let header: PayloadHeader =
            serde_json::from_slice(take(4, header_len)?).context("the bank header")?;
        let mut at = 4 + header_len;
        let entries = u64::from_le_bytes(take(at, 8)?.try_into().unwrap()) as usize;
        at += 8;
        let category_start = at;
        let offset_start = category_start + 2 * entries;
        let label_start = offset_start + 8 * (entries + 1);
        let labels_len =
            u64::from_le_bytes(take(offset_start + 8 * entries, 8)?.try_into().unwrap()) as usize;
        take(label_start, labels_len)?;
        Ok(ReadTable {
            info: header.bank.clone(),
            table: EntryTable {
                bytes,
                categories: header.categories,
                entries,
                category_start,
                offset_start,
                label_start,
            },
        })
    }
}

fn encode_payload(info: &BankInfo, entries: &[Entry]) -> anyhow::Result<Vec<u8>> {
    let mut categories: Vec<String> = Vec::new();
    let mut category_numbers = Vec::with_capacity(entries.len());
    for entry in entries {
        let number = match &entry.category {
            None => 0,
            Some(category) => match categories.iter().position(|c| c == category) {
                Some(k) => k + 1,
                None => {
                    categories.push(category.clone());
                    categories.len()
                }
            },
        };
        if number > usize::from(u16::MAX) {
            bail!("more than {} distinct categories in one bank", u16::MAX);
        }
        category_numbers.push(number as u16);
    }
    let header = serde_json::to_vec(&PayloadHeader {
        bank: info.clone(),
        categories,
    })?;
    let mut out = Vec::new();
    out.extend((header.len() as u32).to_le_bytes());
    out.extend(header);
    out.extend((entries.len() as u64).to_le_bytes());
    for number in category_numbers {
        out.extend(number.to_le_bytes());
    }
    let mut offset = 0u64;
    out.extend(offset.to_le_bytes());
    for entry in entries {
        offset += entry.id.as_deref().unwrap_or("").len() as u64;
        out.extend(offset.to_le_bytes());
    }
    for entry in entries {
        out.extend(entry.id.as_deref().unwrap_or("").as_bytes());
    }
    Ok(out)
}

/// Decodes hex of exactly `N` bytes, with an error that says what was expected.
pub fn decode_hex<const N: usize>(text: &str) -> anyhow::Result<[u8; N]> {
    vigie_hash::unhex(text).with_context(|| format!("'{text}' is not {} hex digits", 2 * N))
}

/// How to read hash lists.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// The format, or `None` to detect it from each file.
    pub format: Option<ListFormat>,
    pub import: ImportOptions,
}

/// Reads hash lists (`-` is standard input) into entries, reporting each list's problems on
/// standard error as `file:line: reason`. Returns the entries and the number of problems.
pub fn read_lists(
    paths: &[std::path::PathBuf],
    options: &ListOptions,
) -> anyhow::Result<(Vec<Entry>, u64)> {
    let mut entries = Vec::new();
    let mut problems = 0;
    for path in paths {
        let summary = read_one_list(path, options, |entry| entries.push(entry))?;
        problems += summary.problem_count;
        summary.write_problems(std::io::stderr().lock())?;
    }
    Ok((entries, problems))
}

/// Reads one list, handing each entry to `sink`.
pub fn read_one_list(
    path: &Path,
    options: &ListOptions,
    sink: impl FnMut(Entry),
) -> anyhow::Result<ImportSummary> {
    let name = path.display().to_string();
    let mut reader: Box<dyn std::io::Read> = if name == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(path).with_context(|| format!("cannot open {name}"))?)
    };
    let mut head = Vec::with_capacity(SNIFF);
    (&mut reader)
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read {name}"))?;
    let format = options
        .format
        .unwrap_or_else(|| detect_format(&name, &head));
    let reader = BufReader::with_capacity(1 << 20, std::io::Cursor::new(head).chain(reader));
    Ok(read_list(&name, reader, format, &options.import, sink)?)
}

/// Opens `--bank` arguments: `.vidx` files load; anything else is read as a hash list and
/// banked in memory, named after the file.
pub fn open_banks(
    paths: &[std::path::PathBuf],
    options: &ListOptions,
) -> anyhow::Result<Vec<Bank>> {
    let mut banks = Vec::new();
    for path in paths {
        let is_snapshot = std::fs::File::open(path)
            .and_then(|mut file| {
                let mut magic = [0u8; 8];
                file.read_exact(&mut magic).map(|()| magic == *b"VIGIEIDX")
            })
            .unwrap_or(false);
        if is_snapshot {
            banks.push(Bank::load(path)?);
            continue;
        }
        let (entries, _) = read_lists(std::slice::from_ref(path), options)?;
        let (entries, _) = merge_duplicates(entries);
        let entries: Vec<Entry> = entries.into_iter().filter(|e| !e.deleted).collect();
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        banks.push(Bank::from_entries(BankInfo::new(name), &entries)?);
    }
    Ok(banks)
}
