//! The methods that [`UdpSocket`](super::UdpSocket) and [`UnixDatagram`](super::UnixDatagram)
//! share, written once as a macro over a struct whose field `io` is a `PollEvented` of a mio
//! datagram socket (the way [`impl_stream_io!`](super::stream_impl) serves the streams).

/// Receiving, connected sending, readiness, addresses and `Debug` for `$ty`, whose peers are
/// named by `$addr`.
macro_rules! impl_datagram_io {
    ($ty:ident, $addr:ty) => {
        impl_readiness!(
            $ty,
            readable = "Waits until a datagram (or an error) is waiting.",
            writable = "Waits until the socket can send."
        );

        impl $ty {
            /// Receives one datagram into `buf`; returns its length (truncated to `buf`) and the
            /// sender's address.
            pub async fn recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $addr)> {
                self.io
                    .async_io($crate::io::Direction::Read, |io| io.recv_from(buf))
                    .await
            }

            /// Sends one datagram to the connected peer.
            pub async fn send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io
                    .async_io($crate::io::Direction::Write, |io| io.send(buf))
                    .await
            }

            /// Receives one datagram from the connected peer.
            pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io
                    .async_io($crate::io::Direction::Read, |io| io.recv(buf))
                    .await
            }

            /// Polls [`recv_from`](Self::recv_from).
            pub fn poll_recv_from(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<(usize, $addr)>> {
                self.io
                    .poll_io(cx, $crate::io::Direction::Read, |io| io.recv_from(buf))
            }

            /// Polls [`send`](Self::send).
            pub fn poll_send(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io
                    .poll_io(cx, $crate::io::Direction::Write, |io| io.send(buf))
            }

            /// Receives without waiting (`WouldBlock` if no datagram is queued).
            pub fn try_recv_from(&self, buf: &mut [u8]) -> std::io::Result<(usize, $addr)> {
                self.io
                    .try_io($crate::io::Direction::Read, |io| io.recv_from(buf))
            }

            /// Sends one datagram to the connected peer without waiting (`WouldBlock` if the
            /// socket buffer is full).
            pub fn try_send(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io
                    .try_io($crate::io::Direction::Write, |io| io.send(buf))
            }

            /// Receives one datagram from the connected peer without waiting (`WouldBlock` if
            /// none is queued).
            pub fn try_recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io
                    .try_io($crate::io::Direction::Read, |io| io.recv(buf))
            }

            /// The local address.
            pub fn local_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().local_addr()
            }

            /// The connected peer's address (`NotConnected` if none).
            pub fn peer_addr(&self) -> std::io::Result<$addr> {
                self.io.get_ref().peer_addr()
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("local_addr", &self.local_addr().ok())
                    .finish()
            }
        }
    };
}

pub(crate) use impl_datagram_io;
