//! The JSON names of the protocol's unit enums (serde's `snake_case`), in one table each, so
//! that reading and writing use the same words. Tests check each table against serde.

use crate::{CloseBy, ErrorCode, Family, Framing, Transport};

pub(crate) const FAMILIES: &[(&str, Family)] = &[("ipv4", Family::Ipv4), ("ipv6", Family::Ipv6)];

pub(crate) const TRANSPORTS: &[(&str, Transport)] =
    &[("tcp", Transport::Tcp), ("udp", Transport::Udp)];

pub(crate) const FRAMINGS: &[(&str, Framing)] = &[
    ("none", Framing::None),
    ("length", Framing::Length),
    ("delimiter", Framing::Delimiter),
];

pub(crate) const CLOSERS: &[(&str, CloseBy)] =
    &[("client", CloseBy::Client), ("server", CloseBy::Server)];

pub(crate) const ERROR_CODES: &[(&str, ErrorCode)] = &[
    ("bad_json", ErrorCode::BadJson),
    ("bad_version", ErrorCode::BadVersion),
    ("unknown_command", ErrorCode::UnknownCommand),
    ("bad_command", ErrorCode::BadCommand),
    ("binary_frame", ErrorCode::BinaryFrame),
    ("too_large", ErrorCode::TooLarge),
    ("too_many_sockets", ErrorCode::TooManySockets),
    ("duplicate_id", ErrorCode::DuplicateId),
    ("unknown_id", ErrorCode::UnknownId),
    ("queue_full", ErrorCode::QueueFull),
    ("os", ErrorCode::Os),
    ("events_dropped", ErrorCode::EventsDropped),
    ("unknown_server", ErrorCode::UnknownServer),
    ("bad_spec", ErrorCode::BadSpec),
    ("too_many_servers", ErrorCode::TooManyServers),
    ("packets_dropped", ErrorCode::PacketsDropped),
    ("bridge_busy", ErrorCode::BridgeBusy),
    ("impair_unavailable", ErrorCode::ImpairUnavailable),
];

/// The name of `value` in `table`.
pub(crate) fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table
        .iter()
        .find(|(_, v)| v == value)
        .map(|(name, _)| *name)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn agrees_with_serde<T: Serialize + PartialEq>(table: &[(&'static str, T)]) {
        for (name, value) in table {
            assert_eq!(serde_json::to_string(value).unwrap(), format!("\"{name}\""));
            assert_eq!(name_of(table, value), *name);
        }
    }

    #[test]
    fn every_table_names_each_variant_as_serde_does() {
        agrees_with_serde(TRANSPORTS);
        agrees_with_serde(FRAMINGS);
        agrees_with_serde(FAMILIES);
        agrees_with_serde(CLOSERS);
        agrees_with_serde(ERROR_CODES);
    }

    #[test]
    fn the_error_code_table_is_complete() {
        // Adding an error code breaks this match until the code gets a place in the table.
        let place = |code: ErrorCode| match code {
            ErrorCode::BadJson => 0,
            ErrorCode::BadVersion => 1,
            ErrorCode::UnknownCommand => 2,
            ErrorCode::BadCommand => 3,
            ErrorCode::BinaryFrame => 4,
            ErrorCode::TooLarge => 5,
            ErrorCode::TooManySockets => 6,
            ErrorCode::DuplicateId => 7,
            ErrorCode::UnknownId => 8,
            ErrorCode::QueueFull => 9,
            ErrorCode::Os => 10,
            ErrorCode::EventsDropped => 11,
            ErrorCode::UnknownServer => 12,
            ErrorCode::BadSpec => 13,
            ErrorCode::TooManyServers => 14,
            ErrorCode::PacketsDropped => 15,
            ErrorCode::BridgeBusy => 16,
            ErrorCode::ImpairUnavailable => 17,
        };
        assert_eq!(ERROR_CODES.len(), 18);
        for (i, (_, code)) in ERROR_CODES.iter().enumerate() {
            assert_eq!(place(*code), i);
        }
    }
}
