//! Turning the paths a user gives into the list of files to read, in a stable order.
//!
//! Directories are walked recursively, entries sorted by name so that two runs list the same files
//! in the same order. Symbolic links are followed, and a link that leads back into a directory
//! being walked is reported as a loop instead of being walked forever.

use std::path::{Path, PathBuf};

/// One thing to read, or the reason it cannot be read.
#[derive(Debug)]
pub struct Input {
    /// The path as given or as walked, for the user's output.
    pub label: String,
    /// Where the bytes come from.
    pub source: Source,
}

/// Where an input's bytes come from.
#[derive(Debug)]
pub enum Source {
    /// A regular file (or a link to one).
    File(PathBuf),
    /// Standard input, given as `-`.
    Stdin,
    /// The walk could not reach it: the reason.
    Unreachable(String),
}

/// Lists every file under the given paths, in order.
pub fn list_inputs(paths: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input {
                label: "-".into(),
                source: Source::Stdin,
            });
            continue;
        }
        walk(path, &mut inputs);
    }
    inputs
}

fn walk(root: &Path, inputs: &mut Vec<Input>) {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker {
        match entry {
            Ok(entry) if entry.file_type().is_dir() => {}
            Ok(entry) => {
                let label = entry.path().display().to_string();
                let source = if entry.file_type().is_file() {
                    Source::File(entry.into_path())
                } else {
                    Source::Unreachable("not a regular file (device, socket or pipe)".into())
                };
                inputs.push(Input { label, source });
            }
            Err(error) => {
                let label = error.path().unwrap_or(root).display().to_string();
                inputs.push(Input {
                    label,
                    source: Source::Unreachable(walk_error_reason(&error)),
                });
            }
        }
    }
}

fn walk_error_reason(error: &walkdir::Error) -> String {
    if let Some(ancestor) = error.loop_ancestor() {
        return format!(
            "symbolic link loop: leads back to {}, not followed",
            ancestor.display()
        );
    }
    match error.io_error() {
        Some(io) => format!("cannot read: {io}"),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_sorted_and_reports_loops() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/2.txt"), "2").unwrap();
        std::fs::write(dir.path().join("a.txt"), "1").unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("b/loop")).unwrap();
        let inputs = list_inputs(&[dir.path().to_path_buf()]);
        let labels: Vec<String> = inputs
            .iter()
            .map(|input| {
                input
                    .label
                    .strip_prefix(&dir.path().display().to_string())
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(labels, ["/a.txt", "/b/2.txt", "/b/loop"]);
        assert!(
            matches!(&inputs[2].source, Source::Unreachable(reason) if reason.contains("loop"))
        );
    }
}
