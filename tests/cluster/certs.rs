//! Certificates for NATS over TLS, made at test time with the `openssl` command into a
//! temporary directory (never kept): a CA, a server certificate for 127.0.0.1 and a client
//! certificate it signs, and a second CA that signed neither.

use std::path::{Path, PathBuf};
use std::process::Command;

/// P-256 keys: quick to make, and both nats-server and rustls take them.
const NEW_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// The files of one test's public key infrastructure, removed when dropped.
pub(crate) struct Pki {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("the TLS cluster tests need the `openssl` command ({error})")
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A self-signed CA `name` (`name.pem`, `name.key`).
fn ca(dir: &Path, name: &str) {
    let (cert, key, subject) = (
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("/CN=arsenal test {name}"),
    );
    let mut args = vec!["req", "-x509"];
    args.extend(NEW_KEY);
    args.extend([
        "-keyout",
        &key,
        "-out",
        &cert,
        "-days",
        "1",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(dir, &args);
}

/// A certificate `name` signed by CA `ca`, with the extensions `extensions`.
fn leaf(dir: &Path, ca: &str, name: &str, extensions: &str) {
    let (cert, key, request, ext) = (
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
    );
    std::fs::write(dir.join(&ext), extensions).unwrap();
    let subject = format!("/CN=arsenal test {name}");
    let mut args = vec!["req"];
    args.extend(NEW_KEY);
    args.extend(["-keyout", &key, "-out", &request, "-subj", &subject]);
    openssl(dir, &args);
    let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &request,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "1",
            "-extfile",
            &ext,
        ],
    );
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let pki = Pki {
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        let dir = pki.dir.path();
        ca(dir, "ca");
        ca(dir, "other-ca");
        leaf(
            dir,
            "ca",
            "server",
            "basicConstraints=critical,CA:FALSE\n\
             subjectAltName=IP:127.0.0.1\n\
             extendedKeyUsage=serverAuth\n",
        );
        leaf(
            dir,
            "ca",
            "client",
            "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n",
        );
        pki
    }

    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// nats-server's arguments for TLS with `server.pem`, requiring clients to present
    /// a certificate the CA signed.
    pub(crate) fn server_args(&self) -> Vec<std::ffi::OsString> {
        vec![
            "--tls".into(),
            "--tlscert".into(),
            self.path("server.pem").into(),
            "--tlskey".into(),
            self.path("server.key").into(),
            "--tlsverify".into(),
            "--tlscacert".into(),
            self.path("ca.pem").into(),
        ]
    }
}
