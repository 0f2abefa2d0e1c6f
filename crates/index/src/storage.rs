//! Arrays that live either in memory or in a memory-mapped snapshot file.
//!
//! A snapshot of 100 million hashes is 4 GB; reading it into memory would take longer than
//! mapping it, so the arrays of a loaded index point into the mapped file and pages come in as
//! queries touch them. Indexes built in memory own their arrays. Both look like slices.
//!
//! Large arrays built in memory go into [`HugeArray`]s. Searches read them at scattered places
//! (a lookup touches a few thousand hashes and bucket offsets spread over gigabytes), and with
//! 4 KB pages nearly every such read also misses the address-translation cache; with 2 MB pages
//! single lookups at 10 million hashes ran twice as fast here.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut};

/// Arrays at least this large go into huge pages; smaller ones stay in the allocator's memory.
const HUGE_ARRAY_BYTES: usize = 2 << 20;

/// A zero-initialised array of plain values in its own anonymous mapping, which the kernel is
/// asked to back with huge pages (Linux's transparent huge pages, where enabled).
pub(crate) struct HugeArray<T: bytemuck::Pod> {
    map: MmapMut,
    len: usize,
    _values: std::marker::PhantomData<T>,
}

impl<T: bytemuck::Pod> HugeArray<T> {
    /// `len` zeros. The advice is given before the first write, because huge pages are
    /// handed out when memory is first touched.
    pub(crate) fn zeroed(len: usize) -> Self {
        let bytes = (len * std::mem::size_of::<T>()).max(1);
        let map = MmapMut::map_anon(bytes)
            .unwrap_or_else(|error| panic!("cannot map {bytes} bytes of memory: {error}"));
        #[cfg(target_os = "linux")]
        // Only advice: where the kernel declines, the array works the same with small pages.
        let _ = map.advise(memmap2::Advice::HugePage);
        Self {
            map,
            len,
            _values: std::marker::PhantomData,
        }
    }

    /// A copy of `values`.
    pub(crate) fn copied(values: &[T]) -> Self {
        let mut array = Self::zeroed(values.len());
        array.copy_from_slice(values);
        array
    }
}

impl<T: bytemuck::Pod> Deref for HugeArray<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // A mapping is page-aligned, so it is aligned for any `T`.
        bytemuck::cast_slice(&self.map[..self.len * std::mem::size_of::<T>()])
    }
}

impl<T: bytemuck::Pod> DerefMut for HugeArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        bytemuck::cast_slice_mut(&mut self.map[..self.len * std::mem::size_of::<T>()])
    }
}

impl<T: bytemuck::Pod> std::fmt::Debug for HugeArray<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HugeArray({} elements)", self.len)
    }
}

/// A read-only array of plain values, owned or borrowed from a mapped file.
#[derive(Clone)]
pub(crate) enum Storage<T: bytemuck::Pod> {
    Owned(Arc<Vec<T>>),
    Huge(Arc<HugeArray<T>>),
    Mapped {
        map: Arc<Mmap>,
        /// Byte offset of the first element in the map.
        start: usize,
        /// Number of elements.
        len: usize,
    },
}

impl<T: bytemuck::Pod> Storage<T> {
    /// An array built in memory; a large one is moved into huge pages (a copy, after which
    /// the vector is freed).
    pub(crate) fn owned(values: Vec<T>) -> Self {
        if std::mem::size_of_val(values.as_slice()) >= HUGE_ARRAY_BYTES {
            Storage::Huge(Arc::new(HugeArray::copied(&values)))
        } else {
            Storage::Owned(Arc::new(values))
        }
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
            Storage::Huge(values) => values,
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
            Storage::Huge(_) => "owned, huge pages",
            Storage::Mapped { .. } => "mapped",
        };
        write!(f, "Storage({kind}, {} elements)", self.len())
    }
}
