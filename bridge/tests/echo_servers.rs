//! The echo servers on real kernel sockets, driven by plain clients (like the tutorial's Python
//! clients or `nc` would).

mod common;

use clap::Parser as _;
use common::{PATIENCE, lab};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// Reads until `want` bytes arrived (TCP may split or merge them).
async fn read_exactly(stream: &mut TcpStream, want: usize) -> Vec<u8> {
    let mut got = vec![0; want];
    timeout(PATIENCE, stream.read_exact(&mut got))
        .await
        .expect("echo within patience")
        .expect("read");
    got
}

#[tokio::test]
async fn tcp_echo_uppercases_ascii_only_like_python_bytes_upper() {
    let lab = lab().await;
    let mut c = TcpStream::connect(lab.tcp_addr()).await.unwrap();
    c.write_all("héllo socket".as_bytes()).await.unwrap();
    let echo = read_exactly(&mut c, "HéLLO SOCKET".len()).await;
    assert_eq!(echo, "HéLLO SOCKET".as_bytes());
}

#[tokio::test]
async fn a_utf8_character_split_across_two_reads_comes_back_intact() {
    let lab = lab().await;
    let mut c = TcpStream::connect(lab.tcp_addr()).await.unwrap();
    c.set_nodelay(true).unwrap();
    let bytes = "é!".as_bytes(); // C3 A9 21
    c.write_all(&bytes[..1]).await.unwrap();
    // Wait for the first half's echo, so the server really read the halves separately.
    assert_eq!(read_exactly(&mut c, 1).await, [0xC3]);
    c.write_all(&bytes[1..]).await.unwrap();
    assert_eq!(read_exactly(&mut c, 2).await, [0xA9, b'!']);
}

#[tokio::test]
async fn many_clients_at_once_and_an_abrupt_disconnect_ends_only_that_client() {
    let lab = lab().await;
    // An abrupt disconnect: SO_LINGER 0 makes close() send RST instead of FIN.
    let rude = std::net::TcpStream::connect(lab.tcp_addr()).unwrap();
    socket_linger_zero(&rude);
    drop(rude);

    let mut clients = vec![];
    for i in 0..20 {
        clients.push(TcpStream::connect(lab.tcp_addr()).await.unwrap());
        let msg = format!("client {i} says hi");
        clients[i].write_all(msg.as_bytes()).await.unwrap();
    }
    // All twenty are served at the same time: each has sent and none has closed.
    for (i, c) in clients.iter_mut().enumerate() {
        let want = format!("CLIENT {i} SAYS HI");
        assert_eq!(read_exactly(c, want.len()).await, want.as_bytes());
    }
    // One leaves without a word; the others carry on.
    let gone = clients.remove(3);
    socket_linger_zero(&gone.into_std().unwrap());
    for c in &mut clients {
        c.write_all(b"still here").await.unwrap();
        assert_eq!(read_exactly(c, 10).await, b"STILL HERE");
    }
}

fn socket_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid fd and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

#[tokio::test]
async fn a_client_that_closes_gets_the_servers_fin() {
    let lab = lab().await;
    let mut c = TcpStream::connect(lab.tcp_addr()).await.unwrap();
    c.shutdown().await.unwrap(); // our FIN: the server's recv() returns 0
    let mut rest = vec![];
    let n = timeout(PATIENCE, c.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0, "the server closed too (its FIN), sending nothing");
}

#[tokio::test]
async fn udp_echo_uppercases_each_datagram_and_echoes_an_empty_one() {
    let lab = lab().await;
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 2048];
    for msg in ["héllo".as_bytes(), b"", b"second"] {
        c.send_to(msg, lab.udp_addr()).await.unwrap();
        let (n, from) = timeout(PATIENCE, c.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, lab.udp_addr());
        assert_eq!(&buf[..n], msg.to_ascii_uppercase().as_slice());
    }
}

#[tokio::test]
async fn udp_server_reads_with_a_1024_byte_buffer_so_a_bigger_datagram_is_cut() {
    let lab = lab().await;
    let c = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    c.send_to(&[b'x'; 3000], lab.udp_addr()).await.unwrap();
    let mut buf = [0u8; 4096];
    let (n, _) = timeout(PATIENCE, c.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 1024, "the kernel discarded the rest of the datagram");
    assert!(buf[..n].iter().all(|&b| b == b'X'));
}

#[tokio::test]
async fn the_server_restarts_on_its_port_despite_time_wait_thanks_to_so_reuseaddr() {
    let lab = lab().await;
    let port = lab.tcp_addr();
    let mut c = TcpStream::connect(port).await.unwrap();
    c.write_all(b"x").await.unwrap();
    read_exactly(&mut c, 1).await;
    // Stopping the lab closes the server's side first (the active close) ...
    lab.shutdown().await;
    let mut rest = vec![];
    timeout(PATIENCE, c.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    drop(c);
    // ... so the port now has a connection in TIME_WAIT, and a plain bind fails:
    let plain = tokio::net::TcpSocket::new_v4().unwrap();
    let err = plain
        .bind(port)
        .expect_err("TIME_WAIT blocks a bind without SO_REUSEADDR");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    // The lab's server sets SO_REUSEADDR, like the tutorial's, and starts again at once.
    let again = bridge::Lab::start(bridge::Config::parse_from([
        "bridge",
        "--http",
        "127.0.0.1:0",
        "--tcp",
        &port.to_string(),
        "--udp",
        "127.0.0.1:0",
        "--tcp6",
        "[::1]:0",
        "--udp6",
        "[::1]:0",
    ]))
    .await;
    assert!(again.is_ok(), "restart on the same port: {:?}", again.err());
}
