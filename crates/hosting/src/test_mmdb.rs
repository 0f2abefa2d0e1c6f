//! A writer of tiny MaxMind DB files, for tests: real GeoLite2 files may not be shipped (their
//! licence) nor downloaded (tests run offline), so the tests make their own.
//!
//! It follows the MaxMind DB format 2.0 specification: a binary search tree over the address
//! bits (IPv6, IPv4 at `::a.b.c.d`, 24-bit records), 16 zero bytes, the data section, then the
//! metadata map after the marker `\xAB\xCD\xEFMaxMind.com`. Networks must not nest.

use std::net::IpAddr;

/// A value of the data section.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Str(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
}

/// One child of a tree node.
#[derive(Debug, Clone, Copy)]
enum Child {
    Empty,
    Node(usize),
    /// An offset into the data section.
    Data(usize),
}

/// A database of type `database_type` mapping each network (`5.39.0.0/16`, `2001:db8::/32`)
/// to its value.
pub(crate) fn build(database_type: &'static str, networks: &[(&str, Value)]) -> Vec<u8> {
    let mut nodes: Vec<[Child; 2]> = vec![[Child::Empty; 2]];
    let mut data = Vec::new();
    for (network, value) in networks {
        let (address, length) = network.split_once('/').expect("a network in CIDR form");
        let address: IpAddr = address.parse().expect("an address");
        let length: usize = length.parse().expect("a prefix length");
        let (bits, length) = match address {
            // IPv4 lives in the IPv6 tree at ::a.b.c.d, as in MaxMind's own files.
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), length + 96),
            IpAddr::V6(v6) => (u128::from(v6), length),
        };
        let offset = data.len();
        encode(&mut data, value);
        let mut node = 0;
        for depth in 0..length {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth + 1 == length {
                nodes[node][bit] = Child::Data(offset);
                break;
            }
            node = match nodes[node][bit] {
                Child::Node(next) => next,
                Child::Empty => {
                    nodes.push([Child::Empty; 2]);
                    nodes[node][bit] = Child::Node(nodes.len() - 1);
                    nodes.len() - 1
                }
                Child::Data(_) => panic!("{network} is inside another network"),
            };
        }
    }
    let node_count = nodes.len();
    let record = |child: Child| -> u32 {
        let value = match child {
            Child::Empty => node_count,
            Child::Node(index) => index,
            Child::Data(offset) => node_count + 16 + offset,
        };
        u32::try_from(value).expect("a 24-bit record")
    };
    let mut file = Vec::new();
    for [left, right] in nodes {
        file.extend_from_slice(&record(left).to_be_bytes()[1..]);
        file.extend_from_slice(&record(right).to_be_bytes()[1..]);
    }
    file.extend_from_slice(&[0; 16]);
    file.extend_from_slice(&data);
    file.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    let metadata = Value::Map(vec![
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(1_764_547_200)),
        ("database_type", Value::Str(database_type)),
        (
            "description",
            Value::Map(vec![("en", Value::Str("A test database"))]),
        ),
        ("ip_version", Value::U16(6)),
        ("languages", Value::Array(vec![Value::Str("en")])),
        ("node_count", Value::U32(node_count as u32)),
        ("record_size", Value::U16(24)),
    ]);
    encode(&mut file, &metadata);
    file
}

/// Appends a value in the data section's encoding.
fn encode(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(text) => {
            control(out, 2, text.len());
            out.extend_from_slice(text.as_bytes());
        }
        Value::U16(number) => unsigned(out, 5, u64::from(*number)),
        Value::U32(number) => unsigned(out, 6, u64::from(*number)),
        Value::U64(number) => unsigned(out, 9, *number),
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (key, value) in entries {
                encode(out, &Value::Str(key));
                encode(out, value);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for item in items {
                encode(out, item);
            }
        }
    }
}

/// An unsigned integer in as few big-endian bytes as it needs.
fn unsigned(out: &mut Vec<u8>, kind: u8, number: u64) {
    let bytes = number.to_be_bytes();
    let skip = bytes.iter().take_while(|&&byte| byte == 0).count();
    control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

/// A control byte: the type in the top three bits (0 and an extra byte for types above 7),
/// the size in the bottom five, with up to three more bytes for large sizes.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (first, extended) = if kind <= 7 {
        (kind << 5, None)
    } else {
        (0, Some(kind - 7))
    };
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    out.push(first | size_bits);
    out.extend(extended);
    out.extend_from_slice(&extra);
}
