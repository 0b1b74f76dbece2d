//! W3C Trace Context (`traceparent`): a well-formed incoming header keeps its trace id and
//! gets a new span id for this server's part of the trace; anything else — missing,
//! malformed, an all-zero id, the forbidden version `ff` — starts a new trace. The result
//! names the request's span and is echoed on the response.

use std::fmt;

/// The header, as the W3C names it.
pub const HEADER: &str = "traceparent";

/// The trace this request belongs to and this server's span in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    /// The caller's trace flags (bit 0: sampled), passed on unchanged.
    flags: u8,
}

/// Flags of a trace started here: sampled, since every request is logged.
const SAMPLED: u8 = 0x01;

impl TraceContext {
    /// The context for a request carrying `header` (the `traceparent` value, if any).
    pub fn continue_or_start(header: Option<&str>) -> TraceContext {
        match header.and_then(parse) {
            Some((trace_id, flags)) => TraceContext {
                trace_id,
                span_id: new_span_id(),
                flags,
            },
            None => TraceContext {
                trace_id: new_trace_id(),
                span_id: new_span_id(),
                flags: SAMPLED,
            },
        }
    }

    /// The trace id, written as 32 lowercase hex digits only if a span records it.
    pub fn trace_id_field(&self) -> TraceId {
        TraceId(self.trace_id)
    }
}

/// A trace id as a span field: formatted when written, not when the span is made.
#[derive(Debug, Clone, Copy)]
pub struct TraceId(u128);

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut digits = [0; 32];
        write_hex(&self.0.to_be_bytes(), &mut digits);
        f.write_str(ascii(&digits))
    }
}

/// A `traceparent` value written out: `00-<trace>-<span>-<flags>`, 55 ASCII bytes. Every
/// request echoes one and may hand one on, so it is written digit by digit rather than
/// through the formatting machinery.
#[derive(Clone, Copy)]
pub struct TraceParent([u8; 55]);

impl TraceParent {
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl TraceContext {
    /// The `traceparent` value naming this server's span.
    pub fn encode(&self) -> TraceParent {
        let mut text = [b'-'; 55];
        text[..2].copy_from_slice(b"00");
        write_hex(&self.trace_id.to_be_bytes(), &mut text[3..35]);
        write_hex(&self.span_id.to_be_bytes(), &mut text[36..52]);
        write_hex(&[self.flags], &mut text[53..55]);
        TraceParent(text)
    }
}

/// The `traceparent` value naming this server's span: `00-<trace>-<span>-<flags>`.
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.encode().as_str())
    }
}

/// `bytes` as lowercase hex into `out`, two digits a byte.
fn write_hex(bytes: &[u8], out: &mut [u8]) {
    hex::encode_to_slice(bytes, out).expect("two hex digits a byte fit");
}

fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("hex digits and dashes are ASCII")
}

/// The trace id and flags of a well-formed `traceparent`. Version `00` is exactly
/// `00-<32 hex>-<16 hex>-<2 hex>`; a later version may append fields after another `-`
/// (the W3C's rule for forward compatibility). Hex digits are lowercase.
fn parse(header: &str) -> Option<(u128, u8)> {
    let header = header.trim_matches([' ', '\t']);
    let bytes = header.as_bytes();
    let version = bytes.get(..2)?;
    if version == b"ff" || !version.iter().all(is_lower_hex) {
        return None;
    }
    let fixed = match bytes.len() {
        55 => header,
        // Byte 55 is an ASCII `-`, so it starts a character: the cut is on a boundary.
        length if version != b"00" && length > 55 && bytes[55] == b'-' => &header[..55],
        _ => return None,
    };
    let mut parts = fixed.split('-');
    let (_version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if trace.len() != 32 || parent.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id = hex_value(trace)?;
    let parent_id = hex_value(parent)?;
    let flags = hex_value(flags).and_then(|value| u8::try_from(value).ok())?;
    (trace_id != 0 && parent_id != 0).then_some((trace_id, flags))
}

fn is_lower_hex(byte: &u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(byte)
}

/// The value of at most 32 lowercase hex digits.
fn hex_value(digits: &str) -> Option<u128> {
    if digits.is_empty() || !digits.as_bytes().iter().all(is_lower_hex) {
        return None;
    }
    u128::from_str_radix(digits, 16).ok()
}

/// Ids need to be unique, not secret: a per-thread generator seeded from the OS is enough.
fn new_trace_id() -> u128 {
    loop {
        let id = fastrand::u128(..);
        if id != 0 {
            return id;
        }
    }
}

fn new_span_id() -> u64 {
    loop {
        let id = fastrand::u64(..);
        if id != 0 {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_keeps_its_trace_and_flags_with_a_new_span() {
        let context = TraceContext::continue_or_start(Some(VALID));
        assert_eq!(context.trace_id_field().to_string(), TRACE);
        let echoed = context.to_string();
        assert_eq!(echoed.len(), 55);
        assert!(echoed.starts_with(&format!("00-{TRACE}-")), "{echoed}");
        assert!(echoed.ends_with("-01"), "{echoed}");
        assert_ne!(
            &echoed[36..52],
            "00f067aa0ba902b7",
            "the span id is this server's"
        );
    }

    #[test]
    fn a_later_version_may_carry_more_fields() {
        let header = format!("cc-{TRACE}-00f067aa0ba902b7-00-extra");
        assert_eq!(
            parse(&header),
            Some((u128::from_str_radix(TRACE, 16).unwrap(), 0))
        );
        assert_eq!(parse(&format!("cc-{TRACE}-00f067aa0ba902b7-00x")), None);
    }

    #[test]
    fn malformed_headers_start_a_new_trace() {
        let malformed = [
            "",
            "garbage",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        ];
        for header in malformed {
            assert_eq!(parse(header), None, "{header:?}");
            let context = TraceContext::continue_or_start(Some(header));
            assert_ne!(context.trace_id_field().to_string(), TRACE, "{header:?}");
            assert_eq!(context.trace_id_field().to_string().len(), 32);
        }
    }

    #[test]
    fn the_header_is_written_as_format_would() {
        let context = TraceContext {
            trace_id: 0x0bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            span_id: 0x00f0_67aa_0ba9_02b7,
            flags: 1,
        };
        let expected = format!(
            "00-{:032x}-{:016x}-{:02x}",
            context.trace_id, context.span_id, context.flags
        );
        assert_eq!(context.encode().as_str(), expected);
        assert_eq!(context.to_string(), expected);
        assert_eq!(
            context.trace_id_field().to_string(),
            format!("{:032x}", context.trace_id)
        );
    }

    #[test]
    fn new_traces_differ() {
        let a = TraceContext::continue_or_start(None);
        let b = TraceContext::continue_or_start(None);
        assert_ne!(
            a.trace_id_field().to_string(),
            b.trace_id_field().to_string()
        );
        assert!(a.to_string().ends_with("-01"));
    }
}
