//! Sending one admitted request: resolve the name here, check every address against the
//! grant, connect to a checked address (so the name cannot resolve differently between
//! the check and the connection), TLS with the webpki roots, HTTP/1.1, and a response
//! body bounded in bytes and by the call's deadline.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep, sleep_until, timeout_at};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use super::destination::{Destination, Host, Scheme};
use super::grant::OutboundGrant;
use super::metrics::{OutboundMetrics, Outcome};
use super::state::CallScope;

/// The TLS configuration of every outbound connection: ring, the webpki roots, no client
/// certificate.
static TLS: LazyLock<Arc<rustls::ClientConfig>> = LazyLock::new(|| {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
});

/// The connection's driver, which the response's body needs running.
pub(super) type Driver = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// One admitted request, with everything it needs away from the store.
pub(super) struct Attempt {
    pub(super) destination: Destination,
    pub(super) grant: Arc<OutboundGrant>,
    pub(super) metrics: Arc<OutboundMetrics>,
    pub(super) component: Arc<str>,
    pub(super) scope: CallScope,
    pub(super) max_response_bytes: u64,
    pub(super) connect_by: Instant,
    pub(super) first_byte_by: Instant,
}

impl Attempt {
    /// Send `request`, counting its outcome by destination host.
    pub(super) async fn send(
        self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(http::Response<WasiBody>, Driver), Error> {
        let host = self.destination.host.to_string();
        let outcome = self.exchange(request, options).await;
        let counted = match &outcome {
            Ok((response, _)) => Outcome::Status(response.status().as_u16()),
            Err(Error::DestinationIpProhibited) => Outcome::Denied,
            Err(Error::ConnectionTimeout | Error::ConnectionReadTimeout | Error::DnsTimeout) => {
                Outcome::Timeout
            }
            Err(_) => Outcome::Failed,
        };
        self.metrics.count(&host, counted);
        if outcome.is_ok() {
            self.scope.reached(&self.destination);
        }
        outcome
    }

    async fn exchange(
        &self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<(http::Response<WasiBody>, Driver), Error> {
        // The guest's own timeouts may only shorten the host's.
        let shorter = |bound: Instant, guest: Option<std::time::Duration>| {
            guest.map_or(bound, |guest| bound.min(Instant::now() + guest))
        };
        let connect_by = shorter(self.connect_by, options.and_then(|o| o.connect_timeout));
        let first_byte_by = shorter(
            self.first_byte_by,
            options.and_then(|o| o.first_byte_timeout),
        );

        let stream = timeout_at(connect_by, self.connect())
            .await
            .map_err(|_| Error::ConnectionTimeout)??;
        let io: Box<dyn Stream> = match self.destination.scheme {
            Scheme::Http => Box::new(stream),
            Scheme::Https => {
                let name = match &self.destination.host {
                    Host::Ip(ip) => rustls::pki_types::ServerName::IpAddress((*ip).into()),
                    Host::Name(name) => rustls::pki_types::ServerName::try_from(name.clone())
                        .map_err(|_| Error::HttpRequestUriInvalid)?,
                };
                let tls = tokio_rustls::TlsConnector::from(TLS.clone());
                let stream = timeout_at(connect_by, tls.connect(name, stream))
                    .await
                    .map_err(|_| Error::ConnectionTimeout)?
                    .map_err(tls_error)?;
                Box::new(stream)
            }
        };
        let (mut sender, connection) = timeout_at(
            connect_by,
            hyper::client::conn::http1::handshake(TokioIo::new(io)),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)??;

        // On the wire the request names its path only; the host is in `Host`.
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |path| path.as_str())
            .parse()
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        *request.uri_mut() = path;
        if let Some(traceparent) = &self.scope.traceparent
            && !request.headers().contains_key(TRACEPARENT)
            && let Ok(value) = http::HeaderValue::from_str(traceparent)
        {
            request.headers_mut().insert(TRACEPARENT, value);
        }

        let mut connection = Box::pin(connection);
        let response = tokio::select! {
            biased;
            response = sender.send_request(request) => response?,
            ended = &mut connection => {
                ended?;
                return Err(Error::HttpResponseIncomplete);
            }
            () = sleep_until(first_byte_by) => return Err(Error::ConnectionReadTimeout),
        };
        let deadline = self.scope.deadline;
        let driver: Driver = Box::new(async move {
            match timeout_at(deadline, connection).await {
                Ok(ended) => ended.map_err(Error::from),
                Err(_) => Err(Error::HttpResponseTimeout),
            }
        });
        let cap = self.max_response_bytes;
        let response = response.map(|body| {
            BoundedBody {
                inner: body,
                remaining: cap,
                cap,
                deadline: Box::pin(sleep_until(deadline)),
            }
            .boxed_unsync()
        });
        Ok((response, driver))
    }

    /// Resolve the destination and connect to the first address the grant admits.
    async fn connect(&self) -> Result<TcpStream, Error> {
        let port = self.destination.port;
        let addresses: Vec<SocketAddr> = match &self.destination.host {
            Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
            Host::Name(name) => tokio::net::lookup_host((name.as_str(), port))
                .await
                .map_err(|error| Error::DnsError {
                    rcode: Some(error.kind().to_string()),
                    info_code: None,
                })?
                .collect(),
        };
        if addresses.is_empty() {
            return Err(Error::DestinationNotFound);
        }
        let admitted: Vec<SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|address| {
                self.grant
                    .admits_address(&self.destination, address.ip())
                    .is_ok()
            })
            .collect();
        if admitted.is_empty() {
            let refused: Vec<IpAddr> = addresses.iter().map(SocketAddr::ip).collect();
            tracing::warn!(
                target: "outbound",
                component = &*self.component,
                request_id = &*self.scope.request_id,
                destination = %self.destination,
                addresses = ?refused,
                "outbound request refused: the destination resolves only to addresses no grant names"
            );
            return Err(Error::DestinationIpProhibited);
        }
        let mut last = Error::ConnectionRefused;
        for address in admitted {
            match TcpStream::connect(address).await {
                Ok(stream) => {
                    // Requests are small and answers awaited: no Nagle delay.
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(error) => last = Error::Connect(error),
            }
        }
        Err(last)
    }
}

const TRACEPARENT: &str = "traceparent";

/// What a TLS failure is, as the guest's error code.
fn tls_error(error: std::io::Error) -> Error {
    let certificate = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|inner| matches!(inner, rustls::Error::InvalidCertificate(_)));
    if certificate {
        Error::TlsCertificateError
    } else {
        Error::TlsProtocolError
    }
}

trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A response body that fails once it is over `cap` bytes or past the call's deadline.
struct BoundedBody {
    inner: hyper::body::Incoming,
    remaining: u64,
    cap: u64,
    deadline: Pin<Box<Sleep>>,
}

impl Body for BoundedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let size = data.len() as u64;
                    if size > this.remaining {
                        this.remaining = 0;
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(this.cap)))));
                    }
                    this.remaining -= size;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(Error::from(error)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::HttpResponseTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
