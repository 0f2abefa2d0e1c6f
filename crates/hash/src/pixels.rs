//! Decoded pixels, in the one or two layouts PDQ needs.

/// How the bytes of a [`Pixels`] buffer are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One byte a pixel.
    Grey,
    /// Three bytes a pixel, red, green, blue.
    Rgb,
}

impl Layout {
    /// Bytes per pixel.
    pub const fn channels(self) -> usize {
        match self {
            Layout::Grey => 1,
            Layout::Rgb => 3,
        }
    }
}

/// An 8-bit image, rows top to bottom, no padding between rows.
///
/// Alpha is not kept: HMA hashes the colour channels of a transparent image as they are, without
/// compositing them over a background, and so do we.
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Grey or RGB.
    pub layout: Layout,
    data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pixels")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

impl Pixels {
    /// Wraps a buffer; `None` when its length is not `width * height * channels`.
    pub fn new(width: usize, height: usize, layout: Layout, data: Vec<u8>) -> Option<Self> {
        let expected = width.checked_mul(height)?.checked_mul(layout.channels())?;
        (data.len() == expected).then_some(Self {
            width,
            height,
            layout,
            data,
        })
    }

    /// The bytes of row `y`.
    pub fn row(&self, y: usize) -> &[u8] {
        let stride = self.width * self.layout.channels();
        &self.data[y * stride..(y + 1) * stride]
    }

    /// All the bytes, row after row.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Gives the buffer back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}
