//! asyncio's `create_server` / `start_server` keyword arguments through `net::ServerOptions`:
//! `start_serving=False` with `Server.start_serving()` / `is_serving()` / `serve_forever()`,
//! `sock=`, `backlog=`, `reuse_port=`, `reuse_address=`, a list of hosts or `host=None` (a
//! socket per address, `Server.sockets`), `family=`, `keep_alive=`, for the streams servers
//! (`streams::start_server_with`) and the protocol servers (`protocols::create_server_with`),
//! TLS ones too. Ported from CPython's Lib/test/test_asyncio/test_server.py
//! (`test_start_server_1`, `test_start_unix_server_1`, `test_unix_server_sock_cleanup`,
//! `test_unix_server_cleanup_gone`), test_events.py (`test_create_server_sock`,
//! `test_create_server_reuse_port`, `test_create_server_addr_in_use`,
//! `test_create_server_dual_stack`, `test_create_server_ipv6`) and test_base_events.py
//! (`test_create_server_no_host_port_sock`, `test_create_server_host_port_sock`,
//! `test_create_server_stream_bittype`, `test_create_server_multiple_hosts_ipv4`/`_ipv6`,
//! `test_create_server_cant_bind`); the others are named after the behaviour of asyncio's
//! `Server` (base_events.py) they check.

mod support;

use std::cell::{Cell, RefCell};
use std::io::{ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use aioloop::net::{ServerOptions, TcpStream, UnixStream};
use aioloop::protocols::{create_server_with, Protocol, Transport};
use aioloop::streams::{open_connection, open_unix_connection, start_server_with, Server};
use aioloop::{spawn, wait_for, yield_now};
use support::net::SocketDir;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A handler that answers each line with "echo:" and the line.
async fn echo(mut reader: aioloop::streams::StreamReader, writer: aioloop::streams::StreamWriter) {
    while let Ok(line) = reader.readline().await {
        if line.is_empty() {
            break;
        }
        writer.write(b"echo:");
        writer.write(&line);
    }
    writer.close();
}

/// Closes `server` and waits until it is closed and its connections are done.
async fn close_and_wait(server: &Server) {
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// Sends "ping\n" on a new connection to `addr` and answers the reply's first line.
async fn ping(addr: std::net::SocketAddr) -> Vec<u8> {
    let (mut reader, writer) = wait_for(open_connection(addr), TIMEOUT).await.unwrap().unwrap();
    writer.write(b"ping\n");
    wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap()
}

/// [`ping`] over the Unix-domain socket at `path`.
async fn ping_unix(path: &std::path::Path) -> Vec<u8> {
    let (mut reader, writer) = wait_for(open_unix_connection(path), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    writer.write(b"ping\n");
    wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap()
}

/// test_server.py `test_start_server_1`: a server made with `start_serving=False` is not
/// serving (and, not listening yet, refuses a connect); a task's `serve_forever()` starts it;
/// the handler cancels that task, which closes the server: `is_serving()` is false again and a
/// later `serve_forever()` returns at once (asyncio raises `RuntimeError('... is closed')`).
#[aioloop::test]
async fn test_start_server_1() {
    let main_task: Rc<RefCell<Option<aioloop::TaskRef>>> = Rc::default();
    let slot = main_task.clone();
    let server = Rc::new(
        start_server_with(
            move |mut reader, writer| {
                let slot = slot.clone();
                async move {
                    reader.readline().await.unwrap();
                    if let Some(task) = slot.borrow().as_ref() {
                        task.cancel();
                    }
                    writer.write(b"1");
                    writer.close();
                    let _ = writer.wait_closed().await;
                }
            },
            ServerOptions::new().addr("127.0.0.1:0").start_serving(false),
        )
        .await
        .unwrap(),
    );
    assert!(!server.is_serving());
    let addr = server.local_addr().unwrap();
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    let forever = server.clone();
    let task = spawn(async move { forever.serve_forever().await });
    *main_task.borrow_mut() = Some(task.task_ref());
    yield_now().await;
    assert!(server.is_serving());

    let client = std::thread::spawn(move || {
        let mut sock = std::net::TcpStream::connect(addr).unwrap();
        sock.set_read_timeout(Some(TIMEOUT)).unwrap();
        sock.write_all(&[b'1'; 5 * 1024]).unwrap();
        sock.write_all(b"\n").unwrap();
        let mut one = [0; 1];
        sock.read_exact(&mut one).unwrap();
        one
    });
    assert!(wait_for(task, TIMEOUT).await.unwrap().unwrap_err().is_cancelled());
    // Joined off the loop: the handler's write must still be sent.
    let one = wait_for(aioloop::to_thread(move || client.join().unwrap()), TIMEOUT).await;
    assert_eq!(one.unwrap().unwrap(), *b"1");
    assert!(!server.is_serving());
    wait_for(server.serve_forever(), TIMEOUT).await.unwrap(); // closed: at once
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// test_server.py `test_start_unix_server_1`: `start_unix_server(start_serving=False)`, then
/// `await srv.start_serving()` makes `is_serving()` true and the server accepts.
#[aioloop::test]
async fn test_start_unix_server_1() {
    let dir = SocketDir::new("server-options-unix");
    let path = dir.path();
    let options = ServerOptions::new().path(&path).start_serving(false);
    let server = start_server_with(echo, options).await.unwrap();
    assert!(!server.is_serving());
    assert!(path.exists(), "bound already");
    let refused = UnixStream::connect(&path).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    server.start_serving().unwrap();
    assert!(server.is_serving());
    assert_eq!(ping_unix(&path).await, b"echo:ping\n");
    server.close();
    assert!(!server.is_serving());
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    assert!(!path.exists(), "closing the server removed its socket file");
}

/// test_unix_events.py `test_create_unix_server_cleanup_prevented` (3.13's
/// `cleanup_socket=False`): the socket file outlives the server; with a `sock=` too.
#[aioloop::test]
async fn test_create_unix_server_cleanup_prevented() {
    let dir = SocketDir::new("server-options-cleanup-prevented");
    let path = dir.path();
    let options = ServerOptions::new().path(&path).cleanup_socket(false);
    let server = start_server_with(echo, options).await.unwrap();
    assert!(path.exists());
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    assert!(path.exists(), "cleanup_socket(false) leaves the socket file");

    std::fs::remove_file(&path).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let options = ServerOptions::new().sock(listener).cleanup_socket(false);
    let server = start_server_with(echo, options).await.unwrap();
    assert_eq!(ping_unix(&path).await, b"echo:ping\n");
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    assert!(path.exists(), "and for a socket given with sock=");
}

/// asyncio's `Server.start_serving()` on a server serving already does nothing
/// (`_start_serving` returns when `_serving`).
#[aioloop::test]
async fn server_start_serving_twice_is_harmless() {
    let server = start_server_with(echo, ServerOptions::new().addr("127.0.0.1:0"))
        .await
        .unwrap();
    assert!(server.is_serving());
    server.start_serving().unwrap();
    server.start_serving().unwrap();
    assert_eq!(ping(server.local_addr().unwrap()).await, b"echo:ping\n");
    close_and_wait(&server).await;
}

/// asyncio's `Server.close()` on a server that never served closes its socket (it was never
/// listening) and `wait_closed()` returns; a Unix server's socket file is removed; starting it
/// afterwards does nothing.
#[aioloop::test]
async fn server_closed_before_serving_closes_its_socket() {
    let dir = SocketDir::new("server-options-close-unstarted");
    let path = dir.path();
    let server = start_server_with(echo, ServerOptions::new().path(&path).start_serving(false))
        .await
        .unwrap();
    assert!(path.exists());
    server.close();
    assert!(!path.exists());
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    server.start_serving().unwrap();
    assert!(!server.is_serving());
    assert!(UnixStream::connect(&path).await.is_err());
}

/// The protocols' server: `create_server(start_serving=False)`, no `connection_made` until
/// `start_serving()`, then a connection is served (asyncio's `Server` serves both kinds).
#[aioloop::test]
async fn create_server_start_serving_false_then_start_serving() {
    struct Hello(Rc<Cell<usize>>);
    impl Protocol for Hello {
        fn connection_made(&mut self, transport: Transport) {
            self.0.set(self.0.get() + 1);
            transport.write(b"hello\n").unwrap();
        }
    }
    let made = Rc::new(Cell::new(0));
    let counter = made.clone();
    let options = ServerOptions::new().addr("127.0.0.1:0").start_serving(false);
    let server = create_server_with(move || Hello(counter.clone()), options)
        .await
        .unwrap();
    assert!(!server.is_serving());
    let addr = server.local_addr().unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
    assert_eq!(made.get(), 0);
    server.start_serving().unwrap();
    assert!(server.is_serving());
    let (mut reader, _writer) = wait_for(open_connection(addr), TIMEOUT).await.unwrap().unwrap();
    assert_eq!(
        wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
        b"hello\n"
    );
    assert_eq!(made.get(), 1);
    server.close();
    server.close_clients();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// The protocols' `serve_forever()` starts a server made with `start_serving=False`, and its
/// cancellation closes it.
#[aioloop::test]
async fn create_server_serve_forever_starts_serving() {
    struct Quiet;
    impl Protocol for Quiet {}
    let options = ServerOptions::new().addr("127.0.0.1:0").start_serving(false);
    let server = Rc::new(create_server_with(|| Quiet, options).await.unwrap());
    let addr = server.local_addr().unwrap();
    let forever = server.clone();
    let task = spawn(async move { forever.serve_forever().await });
    yield_now().await;
    assert!(server.is_serving());
    wait_for(TcpStream::connect(addr), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    task.cancel();
    assert!(wait_for(task, TIMEOUT).await.unwrap().unwrap_err().is_cancelled());
    assert!(!server.is_serving());
    server.close_clients();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// test_events.py `test_create_server_sock`: a socket only bound (not listening) by the
/// caller is served: asyncio listens on it when the server starts serving.
#[aioloop::test]
async fn test_create_server_sock() {
    struct Count(Rc<Cell<usize>>);
    impl Protocol for Count {
        fn data_received(&mut self, data: &[u8]) {
            self.0.set(self.0.get() + data.len());
        }
    }
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    let bound = sock.local_addr().unwrap().as_socket().unwrap();
    let nbytes = Rc::new(Cell::new(0));
    let counter = nbytes.clone();
    let server = create_server_with(move || Count(counter.clone()), ServerOptions::new().sock(sock))
        .await
        .unwrap();
    assert_eq!(server.local_addr().unwrap(), bound);
    let client = wait_for(TcpStream::connect(bound), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    client.write_all(b"xxx").await.unwrap();
    for _ in 0..1000 {
        if nbytes.get() == 3 {
            break;
        }
        aioloop::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(nbytes.get(), 3);
    drop(client);
    server.close();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// `sock=` a listener the standard library bound (listening already), for the streams server.
#[aioloop::test]
async fn start_server_sock_of_a_std_listener() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = start_server_with(echo, ServerOptions::new().sock(listener))
        .await
        .unwrap();
    assert_eq!(server.local_addr().unwrap(), addr);
    assert_eq!(ping(addr).await, b"echo:ping\n");
    close_and_wait(&server).await;
}

/// test_server.py `test_unix_server_sock_cleanup`: a Unix server on a socket the caller bound
/// (`sock=`) removes the socket file when it closes, as asyncio 3.13; and
/// `test_unix_server_cleanup_gone`: no error if someone removed it first.
#[aioloop::test]
async fn test_unix_server_sock_cleanup() {
    let dir = SocketDir::new("server-options-sock-cleanup");
    let path = dir.path();
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = start_server_with(echo, ServerOptions::new().sock(listener))
        .await
        .unwrap();
    assert_eq!(ping_unix(&path).await, b"echo:ping\n");
    server.close();
    assert!(server.local_addr().is_err()); // a Unix server has no TCP address
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    assert!(!path.exists());

    // test_unix_server_cleanup_gone
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = start_server_with(echo, ServerOptions::new().sock(listener))
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    close_and_wait(&server).await;
}

/// test_base_events.py `test_create_server_no_host_port_sock` (neither an address nor a
/// socket: `ValueError`) and `test_create_server_host_port_sock` (both: `ValueError`):
/// `InvalidInput` here, for either server.
#[aioloop::test]
async fn test_create_server_no_host_port_sock() {
    struct Quiet;
    impl Protocol for Quiet {}
    let err = create_server_with(|| Quiet, ServerOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = start_server_with(echo, ServerOptions::new()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);

    // test_create_server_host_port_sock
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let both = ServerOptions::new().addr("127.0.0.1:0").sock(listener);
    let err = create_server_with(|| Quiet, both).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let dir = SocketDir::new("server-options-both");
    let both = ServerOptions::new().addr("127.0.0.1:0").path(dir.path());
    let err = start_server_with(echo, both).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// test_base_events.py `test_create_server_stream_bittype`: a socket that is not a stream
/// socket (here UDP) is refused (asyncio's `ValueError('A Stream Socket was expected')`).
#[aioloop::test]
async fn test_create_server_stream_bittype() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = start_server_with(echo, ServerOptions::new().sock(udp))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// test_events.py `test_create_server_reuse_port`, observed: with `reuse_port=True` two
/// servers listen on one port (the kernel spreads the connections across them); without it
/// the second bind fails with `AddrInUse`, as test_events.py `test_create_server_addr_in_use`.
#[aioloop::test]
async fn test_create_server_reuse_port() {
    let first = start_server_with(echo, ServerOptions::new().addr("127.0.0.1:0").reuse_port(true))
        .await
        .unwrap();
    let addr = first.local_addr().unwrap();
    let second = start_server_with(echo, ServerOptions::new().addr(addr).reuse_port(true))
        .await
        .unwrap();
    assert_eq!(second.local_addr().unwrap(), addr);
    let err = start_server_with(echo, ServerOptions::new().addr(addr))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    // Each connection is served by one of them; with the first closed, the second serves.
    assert_eq!(ping(addr).await, b"echo:ping\n");
    first.close();
    wait_for(first.wait_closed(), TIMEOUT)
        .await
        .unwrap_or_else(|_| panic!("first server"));
    yield_now().await;
    assert_eq!(ping(addr).await, b"echo:ping\n");
    second.close();
    second.close_clients();
    wait_for(second.wait_closed(), TIMEOUT).await.unwrap();
}

/// Two servers made with `start_serving=False` on one port (`SO_REUSEADDR`, asyncio's default,
/// lets both bind while neither listens), the first then serving; and the port.
async fn two_servers_on_one_port() -> (Server, Server, std::net::SocketAddr) {
    let options = || ServerOptions::new().start_serving(false).reuse_address(true);
    let first = start_server_with(echo, options().addr("127.0.0.1:0"))
        .await
        .unwrap();
    let addr = first.local_addr().unwrap();
    let second = start_server_with(echo, options().addr(addr)).await.unwrap();
    first.start_serving().unwrap();
    (first, second, addr)
}

/// asyncio's `start_serving()` listens only then (`Server._start_serving`): two servers bound
/// to one port (`SO_REUSEADDR` lets both bind while neither listens) cannot both listen, and
/// the second's `start_serving()` fails with `AddrInUse`, which closes it.
#[aioloop::test]
async fn start_serving_fails_when_another_socket_listens() {
    let (first, second, addr) = two_servers_on_one_port().await;
    let err = second.start_serving().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    assert!(!second.is_serving());
    wait_for(second.wait_closed(), TIMEOUT).await.unwrap();
    assert_eq!(ping(addr).await, b"echo:ping\n");
    first.close();
    first.close_clients();
    wait_for(first.wait_closed(), TIMEOUT).await.unwrap();
}

/// `serve_forever()` on a server whose socket cannot listen: the server is closed, the wait
/// returns, and the error goes to the loop's exception handler (asyncio's `serve_forever`
/// raises it).
#[test]
fn serve_forever_reports_a_failed_listen() {
    let reports = support::reports_of(async {
        let (first, second, _) = two_servers_on_one_port().await;
        second.serve_forever().await;
        assert!(!second.is_serving());
        first.close();
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("serve_forever could not start serving"),
        "{reports:?}"
    );
}

/// `backlog=`: the accept queue's length is passed to `listen` when the server starts serving.
/// With a backlog of 1 and the server not accepting (its loop blocked), connects beyond the
/// queue are not completed: a non-blocking connect stays in progress (the SYN is dropped).
#[aioloop::test]
async fn backlog_limits_the_accept_queue() {
    let server = start_server_with(echo, ServerOptions::new().addr("127.0.0.1:0").backlog(1))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    // The loop's thread blocks here, so the server accepts nothing meanwhile.
    let completed = std::thread::spawn(move || {
        let mut completed = 0;
        let mut clients = Vec::new();
        for _ in 0..8 {
            if let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                completed += 1;
                clients.push(stream);
            }
        }
        completed
    })
    .join()
    .unwrap();
    assert!(completed < 8, "a backlog of 1 queued {completed} connections");
    server.close();
    server.abort_clients();
    let _ = wait_for(server.wait_closed(), TIMEOUT).await;
}

/// The TLS servers take the same options: `start_server(ssl=ctx, start_serving=False)` then
/// `start_serving()`, and `create_server(ssl=ctx, sock=sock)`.
#[cfg(feature = "tls")]
#[aioloop::test]
async fn tls_servers_take_the_options() {
    use aioloop::protocols::create_server_tls_with;
    use aioloop::streams::{open_connection_tls, start_server_tls_with};
    use aioloop::tls::{ClientTls, ServerTls};

    let pki = support::tls::pki();
    let client_tls = ClientTls::new(pki.client.clone(), "localhost").unwrap();
    let options = ServerOptions::new().addr("127.0.0.1:0").start_serving(false);
    let server = start_server_tls_with(echo, ServerTls::new(pki.server.clone()), options)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    assert!(!server.is_serving());
    assert!(TcpStream::connect(addr).await.is_err());
    server.start_serving().unwrap();
    let (mut reader, writer) = wait_for(open_connection_tls(addr, &client_tls), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    writer.write(b"secret\n");
    assert_eq!(
        wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
        b"echo:secret\n"
    );
    writer.close();
    close_and_wait(&server).await;

    struct Hello;
    impl Protocol for Hello {
        fn connection_made(&mut self, transport: Transport) {
            transport.write(b"hello\n").unwrap();
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let options = ServerOptions::new().sock(listener);
    let server = create_server_tls_with(|| Hello, ServerTls::new(pki.server.clone()), options)
        .await
        .unwrap();
    let (mut reader, _writer) = wait_for(open_connection_tls(addr, &client_tls), TIMEOUT)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
        b"hello\n"
    );
    server.close();
    server.abort_clients();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// `reuse_address=False`: without `SO_REUSEADDR` a second socket cannot bind the port of a
/// socket only bound (with it, as [`two_servers_on_one_port`] shows, both bind).
#[aioloop::test]
async fn reuse_address_false_refuses_a_second_bind() {
    let options = || ServerOptions::new().start_serving(false).reuse_address(false);
    let first = start_server_with(echo, options().addr("127.0.0.1:0"))
        .await
        .unwrap();
    let addr = first.local_addr().unwrap();
    let err = start_server_with(echo, options().addr(addr)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    close_and_wait(&first).await;
}

/// Whether this machine has an IPv6 loopback to bind; if not, says why the calling test is
/// skipped.
fn ipv6_loopback(test: &str) -> bool {
    match std::net::TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(err) => {
            eprintln!("{test}: skipped, no IPv6 loopback here (binding [::1]:0: {err})");
            false
        }
    }
}

/// Closes a protocol server and waits for it.
async fn close_protocol_server(server: &aioloop::protocols::ProtocolServer) {
    server.close();
    server.close_clients();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
}

/// A protocol that greets each connection with "hello\n".
struct Hello;
impl Protocol for Hello {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(b"hello\n").unwrap();
    }
}

/// Reads the first line a server sends on a new connection to `addr`.
async fn greeting(addr: std::net::SocketAddr) -> Vec<u8> {
    let (mut reader, _writer) = wait_for(open_connection(addr), TIMEOUT).await.unwrap().unwrap();
    wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap()
}

/// test_base_events.py `test_create_server_multiple_hosts_ipv4`: a list of hosts, one of them
/// twice, gives one socket per distinct host (`Server.sockets`), here `local_addrs()`; the
/// server accepts on each, and closing it closes them all. For both kinds of server.
#[aioloop::test]
async fn test_create_server_multiple_hosts_ipv4() {
    if let Err(err) = std::net::TcpListener::bind("127.0.0.2:0") {
        eprintln!("test_create_server_multiple_hosts_ipv4: skipped, 127.0.0.2 does not bind here: {err}");
        return;
    }
    let options = || {
        ServerOptions::new()
            .addr("127.0.0.1:0")
            .addr(("127.0.0.2", 0))
            .addr("127.0.0.1:0")
    };
    let server = start_server_with(echo, options()).await.unwrap();
    let addrs = server.local_addrs().to_vec();
    let hosts: Vec<String> = addrs.iter().map(|addr| addr.ip().to_string()).collect();
    assert_eq!(hosts, ["127.0.0.1", "127.0.0.2"]);
    assert_eq!(server.local_addr().unwrap(), addrs[0]);
    for &addr in &addrs {
        assert_eq!(ping(addr).await, b"echo:ping\n");
    }
    close_and_wait(&server).await;
    assert!(
        server.local_addrs().is_empty(),
        "closed: no sockets, as asyncio's"
    );
    for &addr in &addrs {
        let refused = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    }

    let server = create_server_with(|| Hello, options()).await.unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    for &addr in &addrs {
        assert_eq!(greeting(addr).await, b"hello\n");
    }
    close_protocol_server(&server).await;
    assert!(
        server.local_addrs().is_empty(),
        "closed: no sockets, as asyncio's"
    );
    for &addr in &addrs {
        assert!(TcpStream::connect(addr).await.is_err());
    }
}

/// test_base_events.py `test_create_server_multiple_hosts_ipv6`: hosts given twice, of both
/// families (the machine has one IPv6 loopback address: `::1`, twice, and `127.0.0.1`): one
/// socket on each distinct address, the IPv6 one `IPV6_V6ONLY`.
#[aioloop::test]
async fn test_create_server_multiple_hosts_ipv6() {
    if !ipv6_loopback("test_create_server_multiple_hosts_ipv6") {
        return;
    }
    let options = ServerOptions::new()
        .addr("[::1]:0")
        .addr(("127.0.0.1", 0))
        .addr(("::1", 0));
    let server = start_server_with(echo, options).await.unwrap();
    let hosts: Vec<String> = server
        .local_addrs()
        .iter()
        .map(|addr| addr.ip().to_string())
        .collect();
    assert_eq!(hosts, ["::1", "127.0.0.1"]);
    for &addr in &server.local_addrs().to_vec() {
        assert_eq!(ping(addr).await, b"echo:ping\n");
    }
    close_and_wait(&server).await;
}

/// test_events.py `test_create_server_dual_stack`: `create_server(host=None, port=port)`
/// listens on every interface of both families on that one port: a socket on `0.0.0.0` and
/// one on `::` (made `IPV6_V6ONLY`, else its bind would clash with the IPv4 one's). Here
/// `ServerOptions::port`, and the host `""` (asyncio's `host=''`). As in the CPython test, a
/// port found free may be taken meanwhile: another is tried.
#[aioloop::test]
async fn test_create_server_dual_stack() {
    let ipv6 = ipv6_loopback("test_create_server_dual_stack (its IPv6 half)");
    let mut tries = 0;
    let (server, port) = loop {
        let port = std::net::TcpListener::bind("0.0.0.0:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        match start_server_with(echo, ServerOptions::new().port(port)).await {
            Ok(server) => break (server, port),
            Err(err) if err.kind() == ErrorKind::AddrInUse && tries < 5 => tries += 1,
            Err(err) => panic!("{err}"),
        }
    };
    let addrs = server.local_addrs().to_vec();
    assert!(addrs
        .iter()
        .all(|addr| addr.ip().is_unspecified() && addr.port() == port));
    assert!(addrs[0].is_ipv4(), "{addrs:?}");
    assert_eq!(addrs.len(), if ipv6 { 2 } else { 1 }, "{addrs:?}");
    assert_eq!(ping(([127, 0, 0, 1], port).into()).await, b"echo:ping\n");
    if ipv6 {
        let loopback = std::net::SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), port);
        assert_eq!(ping(loopback).await, b"echo:ping\n");
    }
    close_and_wait(&server).await;

    // The host "" is the same: every interface.
    let server = create_server_with(|| Hello, ServerOptions::new().addr(("", 0)))
        .await
        .unwrap();
    let addrs = server.local_addrs().to_vec();
    assert!(addrs.iter().all(|addr| addr.ip().is_unspecified()), "{addrs:?}");
    assert_eq!(addrs.len(), if ipv6 { 2 } else { 1 }, "{addrs:?}");
    let port = server.local_addr().unwrap().port();
    assert_eq!(greeting(([127, 0, 0, 1], port).into()).await, b"hello\n");
    close_protocol_server(&server).await;
}

/// test_events.py `test_create_server_ipv6`: a server on `::1` accepts there.
#[aioloop::test]
async fn test_create_server_ipv6() {
    if !ipv6_loopback("test_create_server_ipv6") {
        return;
    }
    let server = start_server_with(echo, ServerOptions::new().addr(("::1", 0)))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    assert!(addr.is_ipv6());
    assert_eq!(ping(addr).await, b"echo:ping\n");
    close_and_wait(&server).await;
}

/// test_base_events.py `test_create_server_cant_bind`: a bind that fails fails the call with
/// asyncio's message ("error while attempting to bind on address ...", its kind kept), and
/// the sockets bound before it are closed (their port binds again).
#[aioloop::test]
async fn test_create_server_cant_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let options = ServerOptions::new()
        .addr(free)
        .addr(taken_addr)
        .start_serving(false)
        .reuse_address(false);
    let err = start_server_with(echo, options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "error while attempting to bind on address {taken_addr}: "
        )),
        "{message}"
    );
    // The socket bound on `free` first was closed.
    std::net::TcpListener::bind(free).unwrap();
}

/// asyncio's `create_server` skips an address that is not available to bind (`EADDRNOTAVAIL`,
/// "assume the family is not enabled") and fails only when none bound: "could not bind on any
/// address out of [...]".
#[aioloop::test]
async fn create_server_skips_an_address_not_available() {
    // TEST-NET-1 (RFC 5737): no interface of this machine has it.
    let options = ServerOptions::new().addr("192.0.2.1:0").addr("127.0.0.1:0");
    let server = start_server_with(echo, options).await.unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 1);
    assert_eq!(ping(addrs[0]).await, b"echo:ping\n");
    close_and_wait(&server).await;

    let err = start_server_with(echo, ServerOptions::new().addr("192.0.2.1:0"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrNotAvailable);
    assert_eq!(
        err.to_string(),
        "could not bind on any address out of [192.0.2.1:0]"
    );
}

/// A server on several addresses made with `start_serving=False` listens on none until
/// `start_serving()`, then on all; `close_clients()` reaches the connections of each.
#[aioloop::test]
async fn start_serving_and_close_clients_cover_every_socket() {
    if !ipv6_loopback("start_serving_and_close_clients_cover_every_socket") {
        return;
    }
    let options = ServerOptions::new()
        .addr("127.0.0.1:0")
        .addr("[::1]:0")
        .start_serving(false);
    let server = start_server_with(echo, options).await.unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 2);
    for &addr in &addrs {
        assert!(TcpStream::connect(addr).await.is_err());
    }
    server.start_serving().unwrap();
    let mut readers = Vec::new();
    for &addr in &addrs {
        let (mut reader, writer) = wait_for(open_connection(addr), TIMEOUT).await.unwrap().unwrap();
        writer.write(b"ping\n");
        assert_eq!(
            wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
            b"echo:ping\n"
        );
        readers.push((reader, writer));
    }
    server.close();
    server.close_clients();
    wait_for(server.wait_closed(), TIMEOUT).await.unwrap();
    for (reader, _writer) in &mut readers {
        assert!(wait_for(reader.read_to_eof(), TIMEOUT)
            .await
            .unwrap()
            .unwrap()
            .is_empty());
    }
}

/// asyncio's `family=AF_INET` / `AF_INET6` of `create_server`: only the addresses of that
/// family are bound; none left is an error.
#[aioloop::test]
async fn create_server_family_keeps_one_family() {
    use aioloop::net::AddressFamily;
    let options = ServerOptions::new().port(0).family(AddressFamily::Ipv4);
    let server = start_server_with(echo, options).await.unwrap();
    let addrs = server.local_addrs().to_vec();
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0].is_ipv4() && addrs[0].ip().is_unspecified());
    close_and_wait(&server).await;

    let options = ServerOptions::new()
        .addr("127.0.0.1:0")
        .family(AddressFamily::Ipv6);
    let err = start_server_with(echo, options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "could not resolve to any address of family AF_INET6"
    );
}

/// asyncio's `family=` of `create_connection` / `open_connection`: only the addresses of that
/// family are tried; none left is an error, before any attempt.
#[aioloop::test]
async fn create_connection_family_keeps_one_family() {
    use aioloop::net::{AddressFamily, ConnectOptions};
    use aioloop::streams::open_connection_with;
    let server = start_server_with(echo, ServerOptions::new().addr("127.0.0.1:0"))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let v6 = std::net::SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port());
    // The IPv6 address first: without the filter it would be tried (and refused) first.
    let both = [v6, addr];
    let options = ConnectOptions::new().family(AddressFamily::Ipv4).all_errors(true);
    let (mut reader, writer) = open_connection_with(&both[..], options).await.unwrap();
    writer.write(b"ping\n");
    assert_eq!(
        wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
        b"echo:ping\n"
    );
    assert_eq!(writer.peer_addr(), Some(addr));

    let options = ConnectOptions::new().family(AddressFamily::Ipv6);
    let err = TcpStream::connect_with(addr, options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "could not resolve to any address of family AF_INET6"
    );
    writer.close();
    close_and_wait(&server).await;
}

/// Whether the socket of this process whose local address is `local` and peer address `peer`
/// has `SO_KEEPALIVE` set: the accepted socket's descriptor is not exposed by the server, so
/// it is found among the process's open descriptors.
fn keepalive_of(local: std::net::SocketAddr, peer: std::net::SocketAddr) -> bool {
    let dir = if cfg!(target_os = "linux") {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    for entry in std::fs::read_dir(dir).unwrap() {
        let Ok(fd) = entry.unwrap().file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        // SAFETY: only getsockname, getpeername and getsockopt run on `fd`, which was open when
        // listed; the socket sought stays open meanwhile (its handler runs this). A descriptor
        // another test closes meanwhile makes these calls fail (EBADF) or read another socket:
        // both are skipped by the address check.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let sock = socket2::SockRef::from(&fd);
        let here = sock.local_addr().ok().and_then(|addr| addr.as_socket());
        let there = sock.peer_addr().ok().and_then(|addr| addr.as_socket());
        if here == Some(local) && there == Some(peer) {
            return sock.keepalive().unwrap();
        }
    }
    panic!("no socket {local} -> {peer} among the open descriptors");
}

/// asyncio 3.13's `keep_alive=True`: `SO_KEEPALIVE` is set on the listening sockets, and the
/// connections accepted inherit it; off by default.
#[aioloop::test]
async fn create_server_keep_alive_reaches_accepted_sockets() {
    for keep_alive in [true, false] {
        let seen = Rc::new(Cell::new(None));
        let slot = seen.clone();
        let options = ServerOptions::new().addr("127.0.0.1:0").keep_alive(keep_alive);
        let server = start_server_with(
            move |_reader, writer| {
                let local = writer.local_addr().unwrap();
                let peer = writer.peer_addr().unwrap();
                slot.set(Some(keepalive_of(local, peer)));
                writer.write(b"done\n");
                async {}
            },
            options,
        )
        .await
        .unwrap();
        let (mut reader, _writer) = open_connection(server.local_addr().unwrap()).await.unwrap();
        assert_eq!(
            wait_for(reader.readline(), TIMEOUT).await.unwrap().unwrap(),
            b"done\n"
        );
        assert_eq!(seen.get(), Some(keep_alive));
        close_and_wait(&server).await;
    }
}
