//! `vigie hash`: hash files on every core, print the results in input order.
//!
//! Files are read by a pool of workers, one file per worker at a time: a file's bytes are read
//! once, feeding the MD5, SHA-1 and SHA-256 digests and, when they are an image of a reasonable
//! size, the PDQ hash. A file that is not an image, or is too large to be one, is streamed through
//! the digests without being held in memory. Results come back out of order and are printed in
//! input order, so the output does not depend on the thread count.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal as _, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use vigie_hash::{
    hex, looks_like_image, DecodeOptions, Digester, Digests, Dihedral, DihedralPdq, HashOptions,
    ImageHasher, ImageHashes, PdqVariant, DEFAULT_MAX_PIXELS,
};

use crate::files::{list_inputs, Input, Source};

/// Files are read in pieces of this size; the first piece also tells whether it is an image.
const READ_CHUNK: usize = 1 << 20;

/// The progress bar appears from this many files on: below it, the run is over before it helps.
const PROGRESS_MIN_FILES: usize = 32;

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Files or directories (walked recursively); `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Output format. `text` prints what `threatexchange hash photo` prints.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// Also compute the PDQ hashes of the seven rotations and flips (csv and jsonl).
    #[arg(long)]
    dihedral: bool,

    #[command(flatten)]
    hashing: HashingArgs,
}

/// How files are hashed: the options `vigie hash` and `vigie scan` share.
#[derive(Debug, Args)]
pub struct HashingArgs {
    /// Whose PDQ to reproduce: `hma` (python-threatexchange, the full-size pixels) or `cli512`
    /// (Meta's reference command-line hasher, which first resizes images over 512 px).
    #[arg(long, value_enum, default_value_t = Variant::Hma)]
    pdq_variant: Variant,

    /// Rotate images as their EXIF orientation tag says before hashing (HMA does not).
    #[arg(long)]
    exif_orientation: bool,

    /// Refuse to decode images with more pixels than this (decompression bombs).
    #[arg(long, default_value_t = DEFAULT_MAX_PIXELS, value_name = "PIXELS")]
    max_pixels: u64,

    /// Do not decode files larger than this as images; their digests are still computed.
    #[arg(long, default_value_t = 256 << 20, value_name = "BYTES")]
    max_image_bytes: u64,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

impl HashingArgs {
    /// What a worker may spend on a file, and whether to compute the dihedral hashes.
    pub fn limits(&self, dihedral: bool) -> Limits {
        Limits {
            options: HashOptions {
                decode: DecodeOptions {
                    max_pixels: self.max_pixels,
                    exif_orientation: self.exif_orientation,
                },
                variant: match self.pdq_variant {
                    Variant::Hma => PdqVariant::Hma,
                    Variant::Cli512 => PdqVariant::Cli512,
                },
                dihedral,
            },
            max_image_bytes: self.max_image_bytes,
        }
    }

    /// The number of workers: as asked, or one per core.
    pub fn threads(&self) -> anyhow::Result<usize> {
        match self.threads {
            Some(0) => anyhow::bail!("--threads must be at least 1"),
            Some(n) => Ok(n),
            None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Csv,
    Jsonl,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Variant {
    Hma,
    Cli512,
}

/// The result for one input: what could be computed, and why the rest could not.
#[derive(Debug, Serialize)]
pub struct Record {
    pub path: String,
    pub pdq: Option<String>,
    pub quality: Option<u8>,
    pub md5: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dihedral: Option<DihedralHex>,
}

/// The eight dihedral hashes as hex, in the reference's order.
#[derive(Debug, Serialize)]
pub struct DihedralHex {
    orig: String,
    rot90: String,
    rot180: String,
    rot270: String,
    flipx: String,
    flipy: String,
    flipplus1: String,
    flipminus1: String,
}

impl DihedralHex {
    fn of(hashes: &DihedralPdq) -> Self {
        let hex = |transform| hashes.get(transform).to_string();
        Self {
            orig: hex(Dihedral::Original),
            rot90: hex(Dihedral::Rotate90),
            rot180: hex(Dihedral::Rotate180),
            rot270: hex(Dihedral::Rotate270),
            flipx: hex(Dihedral::FlipX),
            flipy: hex(Dihedral::FlipY),
            flipplus1: hex(Dihedral::FlipPlus1),
            flipminus1: hex(Dihedral::FlipMinus1),
        }
    }

    /// All eight, the original first, in the reference's order.
    pub fn all(&self) -> [&str; 8] {
        [
            &self.orig,
            &self.rot90,
            &self.rot180,
            &self.rot270,
            &self.flipx,
            &self.flipy,
            &self.flipplus1,
            &self.flipminus1,
        ]
    }

    /// The seven non-identity hashes, in the order of the CSV columns.
    fn transformed(&self) -> [&str; 7] {
        let [_, transformed @ ..] = self.all();
        transformed
    }
}

impl Record {
    fn new(path: String) -> Self {
        Self {
            path,
            pdq: None,
            quality: None,
            md5: None,
            sha1: None,
            sha256: None,
            error: None,
            dihedral: None,
        }
    }

    fn set_digests(&mut self, digests: &Digests) {
        self.md5 = Some(hex(&digests.md5));
        self.sha1 = Some(hex(&digests.sha1));
        self.sha256 = Some(hex(&digests.sha256));
    }

    fn set_image(&mut self, hashes: &ImageHashes) {
        self.pdq = Some(hashes.pdq.hash.to_string());
        self.quality = Some(hashes.pdq.quality);
        self.dihedral = hashes.dihedral.as_ref().map(DihedralHex::of);
    }
}

pub fn run(args: HashArgs) -> anyhow::Result<ExitCode> {
    let limits = args.hashing.limits(args.dihedral);
    let threads = args.hashing.threads()?;

    let inputs = list_inputs(&args.paths);
    let progress = progress_bar(inputs.len());
    let stdout = io::stdout();
    let mut output = Output::new(
        args.format,
        args.dihedral,
        inputs.len() == 1,
        io::BufWriter::new(stdout.lock()),
    )?;

    let mut failures = 0usize;
    let written = process_in_order(&inputs, threads, &limits, |record| {
        progress.inc(1);
        if let Some(error) = &record.error {
            failures += 1;
            if args.format == Format::Text {
                progress.suspend(|| eprintln!("vigie: {}: {error}", record.path));
            }
        }
        output.write(&record)
    });
    progress.finish_and_clear();
    match written.and_then(|()| output.finish()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("writing the output")?,
    }
    if failures > 0 {
        if args.format != Format::Text {
            eprintln!(
                "vigie: {failures} of {} files could not be hashed fully (see the error column)",
                inputs.len()
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn progress_bar(files: usize) -> ProgressBar {
    if files < PROGRESS_MIN_FILES || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(files as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files  {per_sec}  elapsed {elapsed}  ETA {eta}",
        )
        .expect("the template is valid"),
    );
    bar
}

/// Hashes every input on `threads` workers and hands the records to `sink` in input order.
/// Stops early, returning the error, if the sink fails (a closed pipe, a full disk).
pub fn process_in_order(
    inputs: &[Input],
    threads: usize,
    limits: &Limits,
    mut sink: impl FnMut(Record) -> io::Result<()>,
) -> io::Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, Record)>();
        for _ in 0..threads.min(inputs.len().max(1)) {
            let sender = sender.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let mut hasher = ImageHasher::new(limits.options);
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= inputs.len() || stop.load(Ordering::Relaxed) != 0 {
                        break;
                    }
                    let record = hash_input(&inputs[index], limits, &mut hasher);
                    if sender.send((index, record)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);

        // Records that arrived before an earlier one, waiting for their turn.
        let mut waiting = BTreeMap::new();
        let mut turn = 0usize;
        for (index, record) in receiver {
            waiting.insert(index, record);
            while let Some(record) = waiting.remove(&turn) {
                turn += 1;
                if let Err(error) = sink(record) {
                    stop.store(1, Ordering::Relaxed);
                    return Err(error);
                }
            }
        }
        Ok(())
    })
}

/// What one worker may spend on one file.
#[derive(Debug)]
pub struct Limits {
    options: HashOptions,
    max_image_bytes: u64,
}

fn hash_input(input: &Input, limits: &Limits, hasher: &mut ImageHasher) -> Record {
    let mut record = Record::new(input.label.clone());
    let outcome = match &input.source {
        Source::Unreachable(reason) => Err(reason.clone()),
        Source::Stdin => hash_stream(io::stdin().lock(), limits, hasher, &mut record),
        Source::File(path) => match File::open(path) {
            Ok(file) => hash_stream(file, limits, hasher, &mut record),
            Err(error) => Err(format!("cannot read: {error}")),
        },
    };
    record.error = outcome.err();
    record
}

/// Reads a stream once: digests of every byte, and PDQ when the bytes are an image small enough
/// to decode. Fills what it could compute and returns the reason for what it could not.
fn hash_stream(
    mut reader: impl Read,
    limits: &Limits,
    hasher: &mut ImageHasher,
    record: &mut Record,
) -> Result<(), String> {
    let read_error = |error: io::Error| format!("read error: {error}");
    let mut digester = Digester::default();
    let mut buffer = Vec::with_capacity(READ_CHUNK);
    (&mut reader)
        .take(READ_CHUNK as u64)
        .read_to_end(&mut buffer)
        .map_err(read_error)?;
    let is_image = looks_like_image(&buffer);

    // Keep the bytes only while they may still be decoded as an image.
    let mut total = buffer.len() as u64;
    let mut kept = is_image && total <= limits.max_image_bytes;
    if kept {
        let room = limits.max_image_bytes + 1 - total;
        (&mut reader)
            .take(room)
            .read_to_end(&mut buffer)
            .map_err(read_error)?;
        total = buffer.len() as u64;
        kept = total <= limits.max_image_bytes;
    }
    digester.update(&buffer);
    let image_bytes = if kept {
        Some(buffer)
    } else {
        let mut chunk = buffer;
        loop {
            chunk.clear();
            let read = (&mut reader)
                .take(READ_CHUNK as u64)
                .read_to_end(&mut chunk)
                .map_err(read_error)?;
            if read == 0 {
                break;
            }
            total += read as u64;
            digester.update(&chunk);
        }
        None
    };
    record.set_digests(&digester.finish());

    match image_bytes {
        Some(bytes) => {
            let hashes = hasher.hash(&bytes).map_err(|e| e.to_string())?;
            record.set_image(&hashes);
            Ok(())
        }
        None if is_image => Err(format!(
            "image file of {total} bytes is over the limit of {} bytes (--max-image-bytes); PDQ not computed",
            limits.max_image_bytes
        )),
        None => Err(vigie_hash::HashError::NotAnImage.to_string()),
    }
}

/// Writes records in the chosen format.
enum Output<W: Write> {
    Text {
        out: W,
        single: bool,
    },
    Csv {
        out: Box<csv::Writer<W>>,
        dihedral: bool,
    },
    Jsonl {
        out: W,
    },
}

impl<W: Write> Output<W> {
    fn new(format: Format, dihedral: bool, single: bool, out: W) -> io::Result<Self> {
        Ok(match format {
            Format::Text => Output::Text { out, single },
            Format::Jsonl => Output::Jsonl { out },
            Format::Csv => {
                let mut out = csv::Writer::from_writer(out);
                let mut header = vec!["path", "pdq", "quality", "md5", "sha1", "sha256", "error"];
                if dihedral {
                    header.extend(DIHEDRAL_COLUMNS);
                }
                out.write_record(&header)?;
                Output::Csv {
                    out: Box::new(out),
                    dihedral,
                }
            }
        })
    }

    fn write(&mut self, record: &Record) -> io::Result<()> {
        match self {
            Output::Text { out, single } => match (&record.pdq, *single) {
                (Some(pdq), true) => writeln!(out, "pdq {pdq}"),
                (Some(pdq), false) => writeln!(out, "pdq {pdq} {}", record.path),
                (None, _) => Ok(()),
            },
            Output::Jsonl { out } => {
                serde_json::to_writer(&mut *out, record)?;
                out.write_all(b"\n")
            }
            Output::Csv { out, dihedral } => {
                let text = |value: &Option<String>| value.clone().unwrap_or_default();
                let mut row = vec![
                    record.path.clone(),
                    text(&record.pdq),
                    record.quality.map(|q| q.to_string()).unwrap_or_default(),
                    text(&record.md5),
                    text(&record.sha1),
                    text(&record.sha256),
                    text(&record.error),
                ];
                if *dihedral {
                    match &record.dihedral {
                        Some(hashes) => row.extend(hashes.transformed().map(String::from)),
                        None => row.extend(DIHEDRAL_COLUMNS.map(|_| String::new())),
                    }
                }
                out.write_record(&row).map_err(io::Error::from)
            }
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Output::Text { mut out, .. } | Output::Jsonl { mut out } => out.flush(),
            Output::Csv { mut out, .. } => out.flush(),
        }
    }
}

/// CSV columns of the seven non-identity dihedral hashes, in [`DihedralHex::transformed`] order.
const DIHEDRAL_COLUMNS: [&str; 7] = [
    "pdq_rot90",
    "pdq_rot180",
    "pdq_rot270",
    "pdq_flipx",
    "pdq_flipy",
    "pdq_flipplus1",
    "pdq_flipminus1",
];
