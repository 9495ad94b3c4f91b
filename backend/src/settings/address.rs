//! Listen addresses for the doors: parsing what the operator wrote and
//! binding it. Every failure is one line naming the door and the address.
//!
//! Accepted forms:
//! - `host:port` with an IPv4 address or a host name; a name that resolves to
//!   several addresses (`localhost` → 127.0.0.1 and ::1) is bound on all of
//!   them, and with port 0 they all share the port the first one got;
//! - `[v6]:port`;
//! - `:port`, every IPv4 interface (`0.0.0.0`). IPv6 is asked for with
//!   `[::]:port`, which on Linux also accepts IPv4; binding both `0.0.0.0`
//!   and `[::]` on one port fails there, so `:port` does not try.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use std::future::Future;

use tokio::net::{TcpListener, UdpSocket};

use super::Source;

/// A parsed listen address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress {
    pub host: Host,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// `:port`: every IPv4 interface.
    Any,
    Ip(IpAddr),
    /// Resolved when binding.
    Name(String),
}

/// A door's address could not be used: which door, what was written, where
/// it came from and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoorError {
    pub door: &'static str,
    pub address: String,
    pub source: Source,
    pub problem: String,
}

impl fmt::Display for DoorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} door: {:?} ({}): {}",
            self.door, self.address, self.source, self.problem
        )
    }
}

impl std::error::Error for DoorError {}

const HOW: &str = "write host:port, [v6]:port or :port";

impl ListenAddress {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err(format!("the address is empty ({HOW})"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let Some((inside, after)) = rest.split_once(']') else {
                return Err(format!("\"[\" without \"]\" ({HOW})"));
            };
            let ip: Ipv6Addr = inside
                .parse()
                .map_err(|_| format!("\"[{inside}]\" is not an IPv6 address"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => port,
                None if after.is_empty() => return Err(format!("missing port ({HOW})")),
                None => return Err(format!("expected \":port\" after \"]\", got {after:?}")),
            };
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let Some((host, port)) = text.rsplit_once(':') else {
                return Err(format!("missing port ({HOW})"));
            };
            if host.contains(':') {
                return Err(format!(
                    "an IPv6 address needs brackets: \"[{host}]:{port}\""
                ));
            }
            (host_of(host)?, port)
        };
        Ok(Self {
            host,
            port: port_of(port)?,
        })
    }

    /// Every socket address this names; a host name is looked up.
    async fn resolve(&self) -> Result<Vec<SocketAddr>, String> {
        let mut addrs = match &self.host {
            Host::Any => vec![SocketAddr::new(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                self.port,
            )],
            Host::Ip(ip) => vec![SocketAddr::new(*ip, self.port)],
            Host::Name(name) => tokio::net::lookup_host((name.as_str(), self.port))
                .await
                .map_err(|error| format!("cannot resolve host {name:?}: {error}"))?
                .collect(),
        };
        let mut seen = std::collections::HashSet::new();
        addrs.retain(|addr| seen.insert(*addr));
        if addrs.is_empty() {
            return Err(format!("host {} has no address", self.host));
        }
        Ok(addrs)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Any => f.write_str("0.0.0.0"),
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => write!(f, "{name:?}"),
        }
    }
}

fn host_of(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Ok(Host::Any);
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    let name_like = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !name_like || host.len() > 253 {
        return Err(format!("{host:?} is not a host name or an IP address"));
    }
    Ok(Host::Name(host.to_owned()))
}

fn port_of(port: &str) -> Result<u16, String> {
    if port.is_empty() {
        return Err(format!("missing port ({HOW})"));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{port:?} is not a port number"));
    }
    match port.parse::<u64>() {
        Ok(n) => u16::try_from(n).map_err(|_| format!("port {n} is out of range (0-65535)")),
        Err(_) => Err(format!("port {port} is out of range (0-65535)")),
    }
}

/// Binds a TCP door on everything `address` names: all of them or none,
/// with an error saying which address failed.
pub async fn bind_tcp(
    door: &'static str,
    address: &str,
    source: &Source,
) -> Result<(Vec<TcpListener>, ListenAddress), DoorError> {
    bind_door(door, address, source, bind_all).await
}

/// Binds every address, or none: the first failure is the error.
async fn bind_all(addrs: Vec<SocketAddr>) -> Result<Vec<TcpListener>, String> {
    bind_each(addrs, TcpListener::bind, TcpListener::local_addr).await
}

/// Binds a UDP socket on every address the datagram door's address
/// resolves to, like [`bind_tcp`] does for listeners.
pub async fn bind_udp(
    door: &'static str,
    address: &str,
    source: &Source,
) -> Result<(Vec<UdpSocket>, ListenAddress), DoorError> {
    bind_door(door, address, source, |addrs| {
        bind_each(addrs, UdpSocket::bind, UdpSocket::local_addr)
    })
    .await
}

/// Parses and resolves a door's address and binds what it resolves to,
/// naming the door, the address and where it was set in any error.
async fn bind_door<S, Fut>(
    door: &'static str,
    address: &str,
    source: &Source,
    bind: impl FnOnce(Vec<SocketAddr>) -> Fut,
) -> Result<(Vec<S>, ListenAddress), DoorError>
where
    Fut: Future<Output = Result<Vec<S>, String>>,
{
    let fail = |problem: String| DoorError {
        door,
        address: address.to_owned(),
        source: source.clone(),
        problem,
    };
    let parsed = ListenAddress::parse(address).map_err(fail)?;
    let addrs = parsed.resolve().await.map_err(fail)?;
    let bound = bind(addrs).await.map_err(fail)?;
    Ok((bound, parsed))
}

/// Binds every address with `bind`, or none: the first failure is the error.
async fn bind_each<S, F, Fut>(
    addrs: Vec<SocketAddr>,
    bind: F,
    local_addr: fn(&S) -> io::Result<SocketAddr>,
) -> Result<Vec<S>, String>
where
    F: Fn(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let mut bound: Vec<S> = Vec::with_capacity(addrs.len());
    for mut addr in addrs {
        // With port 0 the first address picks a free port; the others take
        // the same one, so that the door has one port.
        if addr.port() == 0
            && let Some(first) = bound.first()
        {
            let port = local_addr(first)
                .map_err(|error| format!("cannot read the bound address: {error}"))?
                .port();
            addr.set_port(port);
        }
        let socket = bind(addr)
            .await
            .map_err(|error| bind_problem(addr, &error))?;
        bound.push(socket);
    }
    Ok(bound)
}

fn bind_problem(addr: SocketAddr, error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::AddrInUse => format!("{addr} is already in use"),
        io::ErrorKind::AddrNotAvailable => {
            format!("{addr} is not an address of this machine")
        }
        io::ErrorKind::PermissionDenied => {
            format!("not allowed to listen on {addr} (ports below 1024 need privileges): {error}")
        }
        _ => format!("cannot listen on {addr}: {error}"),
    }
}

/// The URL a person opens for a door bound at `bound`: a wildcard or
/// loopback address is reachable here as `localhost`; a host name the
/// operator wrote is kept.
pub fn open_url(address: &ListenAddress, bound: SocketAddr) -> String {
    match &address.host {
        Host::Name(name) => format!("http://{name}:{}/", bound.port()),
        _ if bound.ip().is_unspecified() || bound.ip().is_loopback() => {
            format!("http://localhost:{}/", bound.port())
        }
        _ => format!("http://{bound}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ListenAddress, String> {
        ListenAddress::parse(text)
    }

    fn ok(host: Host, port: u16) -> Result<ListenAddress, String> {
        Ok(ListenAddress { host, port })
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(
            parse("127.0.0.1:8080"),
            ok(Host::Ip(Ipv4Addr::LOCALHOST.into()), 8080)
        );
        assert_eq!(parse(":9000"), ok(Host::Any, 9000));
        assert_eq!(parse(":0"), ok(Host::Any, 0));
        assert_eq!(
            parse("[::1]:8080"),
            ok(Host::Ip(Ipv6Addr::LOCALHOST.into()), 8080)
        );
        assert_eq!(
            parse("[::]:65535"),
            ok(Host::Ip(Ipv6Addr::UNSPECIFIED.into()), 65535)
        );
        assert_eq!(
            parse("localhost:80"),
            ok(Host::Name("localhost".to_owned()), 80)
        );
        assert_eq!(
            parse("chat.example.org:443"),
            ok(Host::Name("chat.example.org".to_owned()), 443)
        );
    }

    #[test]
    fn refused_forms_say_why() {
        let err = |text| parse(text).unwrap_err();
        assert_eq!(
            err("127.0.0.1:99999"),
            "port 99999 is out of range (0-65535)"
        );
        assert_eq!(
            err("127.0.0.1:99999999999999999999999"),
            "port 99999999999999999999999 is out of range (0-65535)"
        );
        assert_eq!(err("127.0.0.1:abc"), "\"abc\" is not a port number");
        assert_eq!(err("127.0.0.1:-1"), "\"-1\" is not a port number");
        assert_eq!(
            err("127.0.0.1"),
            "missing port (write host:port, [v6]:port or :port)"
        );
        assert_eq!(
            err("localhost:"),
            "missing port (write host:port, [v6]:port or :port)"
        );
        assert_eq!(
            err("[::1]"),
            "missing port (write host:port, [v6]:port or :port)"
        );
        assert_eq!(
            err(""),
            "the address is empty (write host:port, [v6]:port or :port)"
        );
        assert_eq!(
            err("::1:8080"),
            "an IPv6 address needs brackets: \"[::1]:8080\""
        );
        assert_eq!(err("[nope]:80"), "\"[nope]\" is not an IPv6 address");
        assert_eq!(
            err("[::1]8080"),
            "expected \":port\" after \"]\", got \"8080\""
        );
        assert_eq!(
            err("[::1:8080"),
            "\"[\" without \"]\" (write host:port, [v6]:port or :port)"
        );
        assert_eq!(
            err("no such host:80"),
            "\"no such host\" is not a host name or an IP address"
        );
    }

    #[test]
    fn door_errors_are_one_line() {
        let error = DoorError {
            door: "HTTP",
            address: "127.0.0.1:99999".to_owned(),
            source: Source::Flag("http"),
            problem: "port 99999 is out of range (0-65535)".to_owned(),
        };
        assert_eq!(
            error.to_string(),
            "HTTP door: \"127.0.0.1:99999\" (flag --http): port 99999 is out of range (0-65535)"
        );
    }

    #[tokio::test]
    async fn binds_every_address_of_a_name_on_one_port() {
        let (listeners, parsed) = bind_tcp("HTTP", "localhost:0", &Source::Default)
            .await
            .unwrap();
        assert!(!listeners.is_empty());
        let ports: Vec<u16> = listeners
            .iter()
            .map(|l| l.local_addr().unwrap().port())
            .collect();
        assert!(
            ports[0] != 0 && ports.iter().all(|p| *p == ports[0]),
            "{ports:?}"
        );
        let url = open_url(&parsed, listeners[0].local_addr().unwrap());
        assert_eq!(url, format!("http://localhost:{}/", ports[0]));
    }

    /// A name with several addresses: all are bound, on one port, or the
    /// one that failed is named. (127.0.0.2 is loopback on Linux.)
    #[tokio::test]
    async fn several_addresses_are_bound_together_or_not_at_all() {
        let two: Vec<SocketAddr> = vec![
            "127.0.0.1:0".parse().unwrap(),
            "127.0.0.2:0".parse().unwrap(),
        ];
        let listeners = bind_all(two).await.unwrap();
        let bound: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
        assert_eq!(bound.len(), 2);
        assert_eq!(bound[0].port(), bound[1].port());
        assert_eq!(bound[1].ip(), IpAddr::from([127, 0, 0, 2]));

        let taken = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let error = bind_all(vec![
            SocketAddr::from(([127, 0, 0, 1], port)),
            SocketAddr::from(([127, 0, 0, 2], port)),
        ])
        .await
        .unwrap_err();
        assert_eq!(error, format!("127.0.0.2:{port} is already in use"));
    }

    #[tokio::test]
    async fn an_address_in_use_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let error = bind_tcp("HTTP", &addr, &Source::Default).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("HTTP door: \"{addr}\" (default): {addr} is already in use")
        );
    }

    #[test]
    fn urls_to_open() {
        let any = parse(":8080").unwrap();
        assert_eq!(
            open_url(&any, "0.0.0.0:8080".parse().unwrap()),
            "http://localhost:8080/"
        );
        let v6 = parse("[2001:db8::1]:8080").unwrap();
        assert_eq!(
            open_url(&v6, "[2001:db8::1]:8080".parse().unwrap()),
            "http://[2001:db8::1]:8080/"
        );
        let named = parse("chat.example.org:0").unwrap();
        assert_eq!(
            open_url(&named, "192.0.2.1:4000".parse().unwrap()),
            "http://chat.example.org:4000/"
        );
    }
}
