//! Golden bytes for every datagram, and properties of the codec.

use proptest::prelude::*;

use super::*;
use crate::udp::MAX_DATAGRAM;

const SESSION: SessionId = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
];

fn encode(packet: &Packet<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    packet.encode(&mut out);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the bytes of `packet` and that they decode back to it.
fn golden(packet: Packet<'_>, expected_hex: &str) {
    let bytes = encode(&packet);
    assert_eq!(hex(&bytes), expected_hex, "{packet:?}");
    assert_eq!(Packet::decode(&bytes), Ok(packet));
}

const SESSION_HEX: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";

#[test]
fn hello_is_padded_to_its_full_length() {
    let bytes = encode(&Packet::Hello { version: 1 });
    assert_eq!(bytes.len(), HELLO_LEN);
    golden(
        Packet::Hello { version: 1 },
        &format!("0101{}", "00".repeat(HELLO_LEN - 2)),
    );
}

#[test]
fn short_hello_is_refused() {
    let bytes = encode(&Packet::Hello { version: 1 });
    for len in 1..HELLO_LEN {
        assert_eq!(
            Packet::decode(&bytes[..len]),
            Err(DecodeError::Length),
            "{len}"
        );
    }
    // Longer is fine: the padding is a floor, and what follows is ignored.
    let mut longer = bytes;
    longer.extend_from_slice(&[7; 10]);
    assert_eq!(Packet::decode(&longer), Ok(Packet::Hello { version: 1 }));
}

#[test]
fn cookie_reply_is_never_larger_than_the_hello() {
    let cookie = [0x5a; COOKIE_LEN];
    assert!(encode(&Packet::Cookie(&cookie)).len() <= HELLO_LEN);
}

#[test]
fn golden_handshake_datagrams() {
    let cookie: Cookie = std::array::from_fn(|i| i as u8);
    let cookie_hex = hex(&cookie);
    golden(Packet::Cookie(&cookie), &format!("02{cookie_hex}"));
    golden(
        Packet::Connect {
            version: 1,
            cookie: &cookie,
        },
        &format!("0301{cookie_hex}"),
    );
    golden(Packet::Accept(SESSION), &format!("04{SESSION_HEX}"));
    golden(Packet::Refuse("full"), "0566756c6c");
    golden(Packet::Refuse(""), "05");
    golden(Packet::Unknown(SESSION), &format!("06{SESSION_HEX}"));
}

#[test]
fn golden_session_datagrams() {
    let header = Header {
        seq: 0x0102_0304,
        ack: 0x0a0b_0c0d,
        sack: 0x8000_0001,
    };
    let fields = "01020304".to_owned() + "0a0b0c0d" + "80000001";
    golden(
        Packet::Session {
            session: SESSION,
            header,
            body: Body::Data {
                last: true,
                chunk: b"hi",
            },
        },
        &format!("10{SESSION_HEX}{fields}016869"),
    );
    golden(
        Packet::Session {
            session: SESSION,
            header,
            body: Body::Data {
                last: false,
                chunk: b"",
            },
        },
        &format!("10{SESSION_HEX}{fields}00"),
    );
    golden(
        Packet::Session {
            session: SESSION,
            header,
            body: Body::Ping,
        },
        &format!("12{SESSION_HEX}{fields}"),
    );
    let unsequenced = Header { seq: 0, ..header };
    golden(
        Packet::Session {
            session: SESSION,
            header: unsequenced,
            body: Body::Ack,
        },
        &format!("11{SESSION_HEX}000000000a0b0c0d80000001"),
    );
    golden(
        Packet::Session {
            session: SESSION,
            header: unsequenced,
            body: Body::Close("bye"),
        },
        &format!("13{SESSION_HEX}000000000a0b0c0d80000001627965"),
    );
}

#[test]
fn a_full_data_datagram_is_exactly_the_largest_datagram() {
    let chunk = [0u8; MAX_CHUNK];
    let packet = Packet::Session {
        session: SESSION,
        header: Header {
            seq: 1,
            ..Header::default()
        },
        body: Body::Data {
            last: true,
            chunk: &chunk,
        },
    };
    let bytes = encode(&packet);
    assert_eq!(bytes.len(), MAX_DATAGRAM);
    assert_eq!(Packet::decode(&bytes), Ok(packet));
    let mut too_long = bytes;
    too_long.push(0);
    assert_eq!(Packet::decode(&too_long), Err(DecodeError::Length));
}

#[test]
fn malformed_datagrams_are_refused() {
    let data = |seq: u32, last: u8| {
        let mut bytes = vec![0x10];
        bytes.extend_from_slice(&SESSION);
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.push(last);
        bytes
    };
    assert_eq!(Packet::decode(&[]), Err(DecodeError::Empty));
    assert_eq!(Packet::decode(&[0x07]), Err(DecodeError::UnknownKind(0x07)));
    assert_eq!(Packet::decode(&[0x14]), Err(DecodeError::UnknownKind(0x14)));
    assert_eq!(
        Packet::decode(&[0x00; 64]),
        Err(DecodeError::UnknownKind(0))
    );
    assert_eq!(Packet::decode(&data(1, 2)), Err(DecodeError::Invalid));
    assert_eq!(Packet::decode(&data(0, 1)), Err(DecodeError::Invalid));
    assert!(Packet::decode(&data(1, 1)).is_ok());
    // A data datagram without its `last` byte.
    assert_eq!(
        Packet::decode(&data(1, 1)[..SESSION_HEADER_LEN]),
        Err(DecodeError::Length)
    );
    // An ack with a sequence number, a ping with a payload.
    let mut ack = vec![0x11];
    ack.extend_from_slice(&SESSION);
    ack.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(Packet::decode(&ack), Err(DecodeError::Invalid));
    let mut ping = ack.clone();
    ping[0] = 0x12;
    assert!(Packet::decode(&ping).is_ok());
    ping.push(0);
    assert_eq!(Packet::decode(&ping), Err(DecodeError::Length));
    // Handshake datagrams of the wrong length.
    assert_eq!(Packet::decode(&[0x02; 34]), Err(DecodeError::Length));
    assert_eq!(Packet::decode(&[0x02; 32]), Err(DecodeError::Length));
    assert_eq!(Packet::decode(&[0x04; 16]), Err(DecodeError::Length));
    assert_eq!(Packet::decode(&[0x03]), Err(DecodeError::Length));
    // Reasons: not UTF-8, or too long.
    assert_eq!(Packet::decode(&[0x05, 0xff]), Err(DecodeError::Invalid));
    let mut long = vec![0x05];
    long.extend_from_slice(&[b'a'; MAX_REASON + 1]);
    assert_eq!(Packet::decode(&long), Err(DecodeError::Invalid));
    long.pop();
    assert!(Packet::decode(&long).is_ok());
}

#[test]
fn long_reasons_are_cut_at_a_character_boundary() {
    let reason = "é".repeat(MAX_REASON);
    let bytes = encode(&Packet::Refuse(&reason));
    assert_eq!(bytes.len(), 1 + MAX_REASON);
    let Ok(Packet::Refuse(decoded)) = Packet::decode(&bytes) else {
        panic!("a cut reason must decode");
    };
    assert_eq!(decoded, "é".repeat(MAX_REASON / 2));
    let odd = format!("a{reason}");
    let bytes = encode(&Packet::Refuse(&odd));
    let Ok(Packet::Refuse(decoded)) = Packet::decode(&bytes) else {
        panic!("a cut reason must decode");
    };
    assert_eq!(decoded.len(), MAX_REASON - 1);
}

#[test]
fn session_of_peeks_only_at_session_datagrams() {
    let ping = encode(&Packet::Session {
        session: SESSION,
        header: Header {
            seq: 1,
            ..Header::default()
        },
        body: Body::Ping,
    });
    assert_eq!(session_of(&ping), Some(SESSION));
    assert_eq!(session_of(&ping[..SESSION_HEADER_LEN - 1]), None);
    assert_eq!(session_of(&encode(&Packet::Accept(SESSION))), None);
    assert_eq!(session_of(&encode(&Packet::Unknown(SESSION))), None);
    let mut other = ping;
    other[0] = 0x14;
    assert_eq!(session_of(&other), None);
    assert_eq!(session_of(&[]), None);
}

/// Owned values from which every kind of packet is generated.
#[derive(Debug, Clone)]
enum Owned {
    Hello(u8),
    Cookie(Cookie),
    Connect(u8, Cookie),
    Accept(SessionId),
    Refuse(String),
    Unknown(SessionId),
    Data(SessionId, Header, bool, Vec<u8>),
    Ack(SessionId, Header),
    Ping(SessionId, Header),
    Close(SessionId, Header, String),
}

impl Owned {
    fn packet(&self) -> Packet<'_> {
        match self {
            Owned::Hello(version) => Packet::Hello { version: *version },
            Owned::Cookie(cookie) => Packet::Cookie(cookie),
            Owned::Connect(version, cookie) => Packet::Connect {
                version: *version,
                cookie,
            },
            Owned::Accept(session) => Packet::Accept(*session),
            Owned::Refuse(reason) => Packet::Refuse(reason),
            Owned::Unknown(session) => Packet::Unknown(*session),
            Owned::Data(session, header, last, chunk) => Packet::Session {
                session: *session,
                header: *header,
                body: Body::Data { last: *last, chunk },
            },
            Owned::Ack(session, header) => Packet::Session {
                session: *session,
                header: *header,
                body: Body::Ack,
            },
            Owned::Ping(session, header) => Packet::Session {
                session: *session,
                header: *header,
                body: Body::Ping,
            },
            Owned::Close(session, header, reason) => Packet::Session {
                session: *session,
                header: *header,
                body: Body::Close(reason),
            },
        }
    }
}

/// Reasons that fit: up to 50 characters of up to 4 bytes each.
fn reason() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..50).prop_map(|chars| chars.into_iter().collect())
}

fn header(sequenced: bool) -> impl Strategy<Value = Header> {
    let seq = if sequenced { 1..=u32::MAX } else { 0..=0 };
    (seq, any::<u32>(), any::<u32>()).prop_map(|(seq, ack, sack)| Header { seq, ack, sack })
}

fn owned_packet() -> impl Strategy<Value = Owned> {
    let session = any::<SessionId>;
    prop_oneof![
        any::<u8>().prop_map(Owned::Hello),
        any::<Cookie>().prop_map(Owned::Cookie),
        (any::<u8>(), any::<Cookie>()).prop_map(|(v, c)| Owned::Connect(v, c)),
        session().prop_map(Owned::Accept),
        reason().prop_map(Owned::Refuse),
        session().prop_map(Owned::Unknown),
        (
            session(),
            header(true),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..=MAX_CHUNK)
        )
            .prop_map(|(s, h, last, chunk)| Owned::Data(s, h, last, chunk)),
        (session(), header(false)).prop_map(|(s, h)| Owned::Ack(s, h)),
        (session(), header(true)).prop_map(|(s, h)| Owned::Ping(s, h)),
        (session(), header(false), reason()).prop_map(|(s, h, r)| Owned::Close(s, h, r)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1300)) {
        let _ = Packet::decode(&bytes);
        let _ = session_of(&bytes);
    }

    #[test]
    fn decode_never_panics_on_near_misses(
        kind in prop_oneof![0x01u8..=0x06, 0x10u8..=0x13],
        rest in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let mut bytes = vec![kind];
        bytes.extend_from_slice(&rest);
        if let Ok(packet) = Packet::decode(&bytes) {
            // Whatever decodes encodes back to a datagram that decodes the same.
            let again = encode(&packet);
            prop_assert_eq!(Packet::decode(&again), Ok(packet));
        }
    }

    #[test]
    fn decode_inverts_encode(owned in owned_packet()) {
        let packet = owned.packet();
        let bytes = encode(&packet);
        prop_assert!(bytes.len() <= MAX_DATAGRAM);
        prop_assert_eq!(Packet::decode(&bytes), Ok(packet));
        if let Packet::Session { session, .. } = packet {
            prop_assert_eq!(session_of(&bytes), Some(session));
        } else {
            prop_assert_eq!(session_of(&bytes), None);
        }
    }
}
