//! Snapshot files: an index written once, loaded by mapping it into memory.
//!
//! Loading 10 million hashes must take well under two seconds, so a snapshot is the index's
//! arrays as they lie in memory (little-endian, each section aligned to 64 bytes) behind a
//! header; loading maps the file and points the arrays into the map. Nothing is parsed.
//!
//! A snapshot is refused, with the reason, when it is not one (magic), comes from a version of
//! this format we do not read, is shorter or longer than its header says, or when any checksum
//! (CRC-32 of the header and of every section) or order (ids of the PDQ arrays, digests of the
//! digest sets) does not hold: a flipped bit on disk must not silently change what matches.
//!
//! Layout, version 1:
//!
//! ```text
//! 0   magic "VIGIEIDX"            8 bytes
//! 8   version                     u32 = 1
//! 12  number of sections          u32
//! 16  file length in bytes        u64
//! 24  reserved                    u32 = 0
//! 28  CRC-32 of bytes 0..28 and of the section table
//! 32  section table: per section  kind u32, CRC-32 u32, offset u64, length u64, elements u64
//! ... sections, each at an offset that is a multiple of 64
//! ```
//!
//! Old snapshots stay readable: a change of layout gets a new version number and a fixture in
//! `tests/fixtures/` that the tests load.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::storage::Storage;
use crate::{DigestSet, PdqIndex, Words};

#[cfg(target_endian = "big")]
compile_error!("snapshots are little-endian arrays; big-endian targets are not supported");

const MAGIC: &[u8; 8] = b"VIGIEIDX";
const VERSION: u32 = 1;
const HEADER: usize = 32;
const TABLE_ROW: usize = 32;
const ALIGN: usize = 64;

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
enum Kind {
    PdqHashes = 1,
    PdqIds = 2,
    Md5Keys = 3,
    Md5Ids = 4,
    Sha1Keys = 5,
    Sha1Ids = 6,
    Sha256Keys = 7,
    Sha256Ids = 8,
    Payload = 9,
}

const KINDS: [Kind; 9] = [
    Kind::PdqHashes,
    Kind::PdqIds,
    Kind::Md5Keys,
    Kind::Md5Ids,
    Kind::Sha1Keys,
    Kind::Sha1Ids,
    Kind::Sha256Keys,
    Kind::Sha256Ids,
    Kind::Payload,
];

/// Why a snapshot could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file could not be opened, read, mapped or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Not a Vigie index snapshot at all (another kind of file).
    #[error("{path}: not a Vigie index snapshot (no VIGIEIDX header)")]
    NotASnapshot {
        /// The file.
        path: PathBuf,
    },
    /// A snapshot of a format version this build does not read.
    #[error("{path}: snapshot format version {version}, this build reads version {VERSION}")]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version the file says it has.
        version: u32,
    },
    /// A snapshot whose content does not check out: truncated, or altered since written.
    #[error("{path}: corrupt snapshot: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What does not check out.
        reason: String,
    },
}

/// Everything a bank matches against: PDQ hashes for near matches, cryptographic digests for
/// exact ones, all keyed by the caller's entry ids.
#[derive(Debug, Clone, Default)]
pub struct SignalIndex {
    /// Perceptual hashes.
    pub pdq: PdqIndex,
    /// MD5 digests.
    pub md5: DigestSet<16>,
    /// SHA-1 digests.
    pub sha1: DigestSet<20>,
    /// SHA-256 digests.
    pub sha256: DigestSet<32>,
}

/// A loaded snapshot: the index and the caller's payload (bank metadata), both mapped.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The index, ready for queries, adds and removes.
    pub index: SignalIndex,
    payload: Storage<u8>,
}

impl Snapshot {
    /// The bytes the writer stored beside the index.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The index and the payload, apart.
    pub fn into_parts(self) -> (SignalIndex, Payload) {
        (self.index, Payload(self.payload))
    }
}

/// The payload of a loaded snapshot, still mapped.
#[derive(Debug, Clone)]
pub struct Payload(Storage<u8>);

impl std::ops::Deref for Payload {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// One section to write: its kind and bytes.
struct Section<'a> {
    kind: Kind,
    bytes: &'a [u8],
    elements: u64,
}

impl SignalIndex {
    /// Writes the index and `payload` (opaque bytes: the caller's metadata) to `path`,
    /// replacing it atomically: a new file is written beside it, synced, then renamed, so a
    /// reader never maps a half-written snapshot and a crash leaves the old one.
    pub fn save(&self, path: &Path, payload: &[u8]) -> Result<(), SnapshotError> {
        let io_error = |source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".partial");
        let temporary = PathBuf::from(temporary);
        let file = File::create(&temporary).map_err(io_error)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        self.write_to(&mut out, payload).map_err(io_error)?;
        let file = out.into_inner().map_err(|e| io_error(e.into_error()))?;
        file.sync_all().map_err(io_error)?;
        std::fs::rename(&temporary, path).map_err(io_error)
    }

    /// Writes the snapshot bytes to any writer (see [`SignalIndex::save`] for files).
    pub fn write_to(&self, out: &mut impl Write, payload: &[u8]) -> io::Result<()> {
        // Snapshots hold compacted arrays; compact a copy only when there is something to fold.
        let compacted;
        let (hashes, ids) = match self.pdq.base_arrays() {
            Some(arrays) => arrays,
            None => {
                compacted = self.pdq.compacted();
                compacted
                    .base_arrays()
                    .expect("a compacted index has no pending entries")
            }
        };
        let (md5_keys, md5_ids) = self.md5.sorted_arrays();
        let (sha1_keys, sha1_ids) = self.sha1.sorted_arrays();
        let (sha256_keys, sha256_ids) = self.sha256.sorted_arrays();
        let sections = [
            section(Kind::PdqHashes, hashes),
            section(Kind::PdqIds, ids),
            section(Kind::Md5Keys, &md5_keys),
            section(Kind::Md5Ids, &md5_ids),
            section(Kind::Sha1Keys, &sha1_keys),
            section(Kind::Sha1Ids, &sha1_ids),
            section(Kind::Sha256Keys, &sha256_keys),
            section(Kind::Sha256Ids, &sha256_ids),
            section(Kind::Payload, payload),
        ];

        let mut table = Vec::with_capacity(sections.len() * TABLE_ROW);
        let mut offset = align(HEADER + sections.len() * TABLE_ROW);
        for s in &sections {
            table.extend((s.kind as u32).to_le_bytes());
            table.extend(crc32fast::hash(s.bytes).to_le_bytes());
            table.extend((offset as u64).to_le_bytes());
            table.extend((s.bytes.len() as u64).to_le_bytes());
            table.extend(s.elements.to_le_bytes());
            offset = align(offset + s.bytes.len());
        }
        let file_length = offset as u64;
        let mut header = Vec::with_capacity(HEADER);
        header.extend(MAGIC);
        header.extend(VERSION.to_le_bytes());
        header.extend((sections.len() as u32).to_le_bytes());
        header.extend(file_length.to_le_bytes());
        header.extend(0u32.to_le_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(&header);
        crc.update(&table);
        header.extend(crc.finalize().to_le_bytes());

        out.write_all(&header)?;
        out.write_all(&table)?;
        let mut written = HEADER + table.len();
        for s in &sections {
            let start = align(written);
            out.write_all(&[0; ALIGN][..start - written])?;
            out.write_all(s.bytes)?;
            written = start + s.bytes.len();
        }
        out.write_all(&[0; ALIGN][..align(written) - written])?;
        out.flush()
    }

    /// Maps a snapshot written by [`SignalIndex::save`], checking everything before use.
    pub fn load(path: &Path) -> Result<Snapshot, SnapshotError> {
        let file = File::open(path).map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // SAFETY: the map is read-only and private. Mapping is unsound only if another process
        // changes the file while it is mapped; snapshots are never modified in place (`save`
        // writes a new file and renames it over the old one, which leaves existing maps on the
        // old, unchanged data), and the checks below run on the mapped bytes before any use.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(&file) }.map_err(|source| SnapshotError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_map(Arc::new(map), path)
    }

    fn from_map(map: Arc<Mmap>, path: &Path) -> Result<Snapshot, SnapshotError> {
        let corrupt = |reason: String| SnapshotError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let bytes: &[u8] = &map;
        if bytes.len() < 8 || &bytes[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot {
                path: path.to_path_buf(),
            });
        }
        if bytes.len() < HEADER {
            return Err(corrupt(format!(
                "{} bytes, shorter than its header",
                bytes.len()
            )));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let version = u32_at(8);
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                path: path.to_path_buf(),
                version,
            });
        }
        let count = u32_at(12) as usize;
        let expected_length = u64_at(16);
        if expected_length != bytes.len() as u64 {
            return Err(corrupt(format!(
                "the header says {expected_length} bytes, the file has {} (truncated or appended to)",
                bytes.len()
            )));
        }
        let table_end = HEADER
            .checked_add(count.saturating_mul(TABLE_ROW))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| corrupt(format!("a section table of {count} rows does not fit")))?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[..28]);
        crc.update(&bytes[HEADER..table_end]);
        if crc.finalize() != u32_at(28) {
            return Err(corrupt("header checksum mismatch".into()));
        }

        let mut found: Vec<Option<(usize, usize, u64)>> = vec![None; KINDS.len()];
        for row in 0..count {
            let at = HEADER + row * TABLE_ROW;
            let kind = u32_at(at);
            let (start, length, elements) = (
                u64_at(at + 8) as usize,
                u64_at(at + 16) as usize,
                u64_at(at + 24),
            );
            let slot = KINDS
                .iter()
                .position(|k| *k as u32 == kind)
                .ok_or_else(|| corrupt(format!("unknown section kind {kind}")))?;
            let end = start
                .checked_add(length)
                .filter(|&end| end <= bytes.len() && start % ALIGN == 0)
                .ok_or_else(|| corrupt(format!("section {kind} lies outside the file")))?;
            if crc32fast::hash(&bytes[start..end]) != u32_at(at + 4) {
                return Err(corrupt(format!("checksum mismatch in section {kind}")));
            }
            found[slot] = Some((start, length, elements));
        }
        // Bytes between sections are zero padding; checking it leaves no byte of the file
        // unchecked.
        let mut extents: Vec<(usize, usize)> = found
            .iter()
            .flatten()
            .map(|&(start, length, _)| (start, start + length))
            .collect();
        extents.sort_unstable();
        let mut covered = table_end;
        for (start, end) in extents.into_iter().chain([(bytes.len(), bytes.len())]) {
            if start < covered {
                return Err(corrupt(format!("sections overlap at byte {start}")));
            }
            if bytes[covered..start].iter().any(|&b| b != 0) {
                return Err(corrupt(format!(
                    "non-zero padding at bytes {covered}..{start}"
                )));
            }
            covered = end;
        }
        let take = |kind: Kind, element: usize| -> Result<(usize, usize), SnapshotError> {
            let (start, length, elements) =
                found[KINDS.iter().position(|k| *k == kind).unwrap()]
                    .ok_or_else(|| corrupt(format!("section {} is missing", kind as u32)))?;
            if length != elements as usize * element {
                return Err(corrupt(format!(
                    "section {} has {length} bytes for {elements} elements",
                    kind as u32
                )));
            }
            Ok((start, elements as usize))
        };

        let (start, n) = take(Kind::PdqHashes, 32)?;
        let hashes = Storage::<Words>::mapped(map.clone(), start, n);
        let (start, n_ids) = take(Kind::PdqIds, 8)?;
        if n_ids != n {
            return Err(corrupt(format!("{n} PDQ hashes but {n_ids} ids")));
        }
        let ids = Storage::<u64>::mapped(map.clone(), start, n);
        if !ids.windows(2).all(|pair| pair[0] <= pair[1]) {
            return Err(corrupt("PDQ ids are not in order".into()));
        }
        let index = SignalIndex {
            pdq: PdqIndex::from_sorted(hashes, ids),
            md5: digest_set(&map, take(Kind::Md5Keys, 16)?, take(Kind::Md5Ids, 8)?)
                .map_err(|reason| corrupt(format!("MD5 set: {reason}")))?,
            sha1: digest_set(&map, take(Kind::Sha1Keys, 20)?, take(Kind::Sha1Ids, 8)?)
                .map_err(|reason| corrupt(format!("SHA-1 set: {reason}")))?,
            sha256: digest_set(&map, take(Kind::Sha256Keys, 32)?, take(Kind::Sha256Ids, 8)?)
                .map_err(|reason| corrupt(format!("SHA-256 set: {reason}")))?,
        };
        let (start, n) = take(Kind::Payload, 1)?;
        Ok(Snapshot {
            index,
            payload: Storage::mapped(map, start, n),
        })
    }
}

fn digest_set<const N: usize>(
    map: &Arc<Mmap>,
    (key_start, keys): (usize, usize),
    (id_start, ids): (usize, usize),
) -> Result<DigestSet<N>, String> {
    if keys != ids {
        return Err(format!("{keys} digests but {ids} ids"));
    }
    let keys = Storage::<[u8; N]>::mapped(map.clone(), key_start, keys);
    let ids = Storage::<u64>::mapped(map.clone(), id_start, ids);
    let ordered = (1..keys.len()).all(|i| (keys[i - 1], ids[i - 1]) < (keys[i], ids[i]));
    if !ordered {
        return Err("digests are not in order".into());
    }
    Ok(DigestSet::from_sorted(keys, ids))
}

fn section<T: bytemuck::Pod>(kind: Kind, values: &[T]) -> Section<'_> {
    Section {
        kind,
        bytes: bytemuck::cast_slice(values),
        elements: values.len() as u64,
    }
}

fn align(offset: usize) -> usize {
    offset.div_ceil(ALIGN) * ALIGN
}
