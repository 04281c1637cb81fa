//! asyncio's datagram endpoints: [`DatagramProtocol`], [`DatagramTransport`] and
//! [`create_datagram_endpoint`] (UDP) or [`create_unix_datagram_endpoint`] (Unix-domain),
//! with the semantics of asyncio's `_SelectorDatagramTransport`. Each endpoint is driven by one
//! task of the loop, built as a stream connection's is.

mod driver;
mod endpoint;
mod options;
mod protocol;
mod socket;
mod transport;

pub use endpoint::{create_datagram_endpoint, create_unix_datagram_endpoint, datagram_endpoint_from_socket};
pub use options::DatagramOptions;
pub use protocol::DatagramProtocol;
pub use socket::DatagramSocket;
pub use transport::DatagramTransport;
