//! Arrays that live either in memory or in a memory-mapped snapshot file.
//!
//! A snapshot of 100 million hashes is 4 GB; reading it into memory would take longer than
//! mapping it, so the arrays of a loaded index point into the mapped file and pages come in as
//! queries touch them. Indexes built in memory own their arrays. Both look like slices.

use std::ops::Deref;
use std::sync::Arc;

use memmap2::Mmap;

/// A read-only array of plain values, owned or borrowed from a mapped file.
#[derive(Clone)]
pub(crate) enum Storage<T: bytemuck::Pod> {
    Owned(Arc<Vec<T>>),
    Mapped {
        map: Arc<Mmap>,
        /// Byte offset of the first element in the map.
        start: usize,
        /// Number of elements.
        len: usize,
    },
}

impl<T: bytemuck::Pod> Storage<T> {
    pub(crate) fn owned(values: Vec<T>) -> Self {
        Storage::Owned(Arc::new(values))
    }

    /// Elements `start..start + len * size_of::<T>()` of a map. The caller has checked that
    /// the range lies in the map and is aligned for `T`.
    pub(crate) fn mapped(map: Arc<Mmap>, start: usize, len: usize) -> Self {
        let storage = Storage::Mapped { map, start, len };
        // Fail here, at load time, rather than at the first query.
        let _ = storage.deref();
        storage
    }
}

impl<T: bytemuck::Pod> Deref for Storage<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Storage::Owned(values) => values,
            Storage::Mapped { map, start, len } => {
                let bytes = &map[*start..*start + len * std::mem::size_of::<T>()];
                bytemuck::cast_slice(bytes)
            }
        }
    }
}

impl<T: bytemuck::Pod> std::fmt::Debug for Storage<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Storage::Owned(_) => "owned",
            Storage::Mapped { .. } => "mapped",
        };
        write!(f, "Storage({kind}, {} elements)", self.len())
    }
}
