//! With the `tls` feature an `https://` server URL works: events reach a loopback HTTPS
//! receiver whose self-signed certificate (made here) is trusted through
//! `tls_root_certificates`. The certificate is really checked: without it the same server is
//! refused and nothing is delivered.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use raceway::{Client, Config};
use raceway_test_receiver::TestReceiver;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;

/// A TLS-terminating front for `receiver` on a loopback port, with a fresh self-signed
/// certificate for `127.0.0.1`; returns its address and the certificate's PEM file.
fn tls_front(receiver: &TestReceiver, runtime: &tokio::runtime::Runtime) -> (SocketAddr, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let pem_path = std::env::temp_dir().join(format!(
        "raceway-tls-test-{}-{}.pem",
        std::process::id(),
        receiver.addr().port()
    ));
    std::fs::write(&pem_path, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
    let tls = ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let plain = receiver.addr();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let address = listener.local_addr().unwrap();
    runtime.spawn(async move {
        loop {
            let Ok((connection, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake: fine.
                let Ok(mut tls) = acceptor.accept(connection).await else {
                    return;
                };
                let mut upstream = tokio::net::TcpStream::connect(plain).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (address, pem_path)
}

fn record_some(client: &Client) {
    let ctx = client.start_trace();
    ctx.track_write("tls.checked", 0, 1);
    ctx.track_read("tls.checked", 1);
}

#[test]
fn events_arrive_over_https_and_an_untrusted_certificate_is_refused() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let receiver = TestReceiver::start();
    let (address, pem) = tls_front(&receiver, &runtime);
    let url = format!("https://{address}");

    let trusted = Client::from_config(
        Config::builder()
            .server_url(&url)
            .service_name("tls-test")
            .tls_root_certificates(&pem)
            .flush_interval(Duration::from_millis(10))
            .build()
            .unwrap(),
    )
    .expect("an https:// URL starts with the tls feature");
    record_some(&trusted);
    let report = trusted.shutdown(Duration::from_secs(10));
    assert_eq!(report.undelivered, 0, "{report:?}");
    assert!(receiver.events().len() >= 2);
    assert!(receiver
        .events()
        .iter()
        .all(|event| event["metadata"]["service_name"] == "tls-test"));

    // The webpki roots do not know the self-signed certificate.
    let before = receiver.events().len();
    let untrusted = Client::from_config(
        Config::builder()
            .server_url(&url)
            .service_name("tls-test")
            .flush_interval(Duration::from_millis(10))
            .build()
            .unwrap(),
    )
    .unwrap();
    record_some(&untrusted);
    let report = untrusted.shutdown(Duration::from_millis(500));
    assert!(report.undelivered > 0, "{report:?}");
    assert_eq!(receiver.events().len(), before);

    // A file with no certificate is a start error that says what is wrong.
    std::fs::write(&pem, "not a certificate").unwrap();
    let error = Client::from_config(
        Config::builder()
            .server_url(&url)
            .tls_root_certificates(&pem)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("root certificates"), "{error}");
    std::fs::remove_file(&pem).unwrap();
}
