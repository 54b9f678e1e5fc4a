//! TLS parity with libpq, against a throwaway PostgreSQL cluster of this
//! test's own with `ssl = on` and a CA the test makes with openssl (the
//! shared test servers are left alone). For each sslmode and source of
//! roots, `k12ctl backup run` (our own connections, then pg_dump) must
//! succeed exactly when libpq's `psql` does with the same URL and home
//! directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn sh(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `runuser -u postgres -- ...` when root (PostgreSQL refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if rustix_is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"])
            .arg(program)
            .current_dir("/");
        cmd
    } else {
        Command::new(program)
    }
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// A CA, and a server certificate it signed for `localhost` only (no IP
/// address), so `verify-full` to 127.0.0.1 fails and `verify-ca` passes.
struct Certificates {
    ca: PathBuf,
    /// A CA that signed nothing the server has.
    rogue_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

fn make_certificates(dir: &Path) -> Certificates {
    let openssl = |args: &[&str]| {
        sh(Command::new("openssl").args(args).current_dir(dir));
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for name in ["ca", "rogue"] {
        let mut args = vec!["req", "-x509", "-days", "2"];
        args.extend(ec);
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN=k12ctl test {name}"),
        );
        args.extend(["-keyout", &key, "-out", &crt, "-subj", &subj]);
        openssl(&args);
    }
    let mut req = vec!["req"];
    req.extend(ec);
    req.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(&req);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
        "-extfile",
        "server.ext",
    ]);
    Certificates {
        ca: dir.join("ca.crt"),
        rogue_ca: dir.join("rogue.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
    }
}

/// A PostgreSQL 15 cluster that accepts TLS connections only (`hostssl`,
/// plain `host` rejected), trust authentication; stopped when dropped.
struct TlsServer {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    port: u16,
    certs: Certificates,
}

impl TlsServer {
    fn start(bindir: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certs = make_certificates(dir.path());
        let data = dir.path().join("data");
        if rustix_is_root() {
            sh(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(dir.path()));
        }
        sh(as_postgres(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8"]));
        let port = closed_port();
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             fsync = off\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            dir.path().display(),
            certs.server_cert.display(),
            certs.server_key.display()
        );
        let mut pg_conf = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
        pg_conf.push_str(&conf);
        std::fs::write(data.join("postgresql.conf"), pg_conf).unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n\
             host all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        if rustix_is_root() {
            sh(Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(dir.path()));
        }
        sh(as_postgres(&bindir.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "-t", "60", "start"]));
        let server = Self {
            dir,
            bindir: bindir.to_owned(),
            port,
            certs,
        };
        sh(as_postgres(&bindir.join("psql"))
            .args(["-X", "-q", "-h"])
            .arg(server.dir.path())
            .args(["-p", &port.to_string(), "-U", "postgres", "-d", "postgres"])
            .args(["-c", "CREATE DATABASE k12", "-c", ""]));
        sh(as_postgres(&bindir.join("psql"))
            .args(["-X", "-q", "-h"])
            .arg(server.dir.path())
            .args(["-p", &port.to_string(), "-U", "postgres", "-d", "k12"])
            .args([
                "-c",
                "CREATE TABLE users (id int); INSERT INTO users VALUES (1), (2)",
            ]));
        server
    }

    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/k12?{query}", self.port)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bindir.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// One way of connecting: the URL, the home directory's root.crt (if any)
/// and extra environment, for both k12ctl and psql.
struct Case<'a> {
    name: &'a str,
    url: String,
    home_root_crt: Option<&'a Path>,
    env: Vec<(&'a str, String)>,
    /// Whether libpq connects (checked against psql, not just assumed).
    connects: bool,
}

/// psql (libpq) with the same URL, home and environment, nothing inherited:
/// whether it connected, and what it said.
fn libpq_connects(psql: &Path, case: &Case<'_>, home: &Path) -> (bool, String) {
    let out = Command::new(psql)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .envs(case.env.iter().map(|(k, v)| (*k, v)))
        .args(["-X", "-tA", "-c", "SELECT 1", &case.url])
        .output()
        .unwrap();
    (out.status.success(), stderr(&out))
}

fn run_case(env: &Env, server: &TlsServer, psql: &Path, case: &Case<'_>) {
    let home = tempfile::tempdir().unwrap();
    if let Some(crt) = case.home_root_crt {
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        std::fs::copy(crt, home.path().join(".postgresql/root.crt")).unwrap();
    }
    let (libpq, said) = libpq_connects(psql, case, home.path());
    assert_eq!(
        libpq, case.connects,
        "{}: psql's outcome: {said}",
        case.name
    );
    let storage = tempfile::tempdir().unwrap();
    let out = run(k12ctl(env)
        .env("HOME", home.path())
        .env("DATABASE_URL", &case.url)
        .env(
            "K12CTL_STORAGE",
            format!("file://{}", storage.path().display()),
        )
        .env("K12CTL_PG_BINDIR", &server.bindir)
        .env("K12CTL_CONNECT_TIMEOUT", "10")
        .envs(case.env.iter().map(|(k, v)| (*k, v)))
        .args(["--output", "json", "backup", "run"]));
    assert_eq!(
        out.status.success(),
        case.connects,
        "{}: k12ctl (its connections and pg_dump) must agree with libpq\nstderr: {}",
        case.name,
        stderr(&out)
    );
    if !case.connects {
        // Refused by k12ctl's own connection, as libpq refuses, before any
        // pg_dump runs: not by a child that disagrees with it.
        let err = stderr(&out);
        assert!(
            matches!(out.status.code(), Some(1 | 2))
                && err.contains("cannot connect to database k12")
                && !err.contains("pg_dump"),
            "{}: {err}",
            case.name
        );
    }
}

#[test]
fn k12ctl_and_its_children_trust_exactly_the_servers_libpq_trusts() {
    let env = env();
    let server = TlsServer::start(&env.pg_bindir);
    let c = &server.certs;
    let ca = c.ca.display().to_string();
    let rogue = c.rogue_ca.display().to_string();
    let psql15 = env.pg_bindir.join("psql");
    let q = |mode: &str, root: Option<&str>| match root {
        Some(r) => format!("sslmode={mode}&sslrootcert={r}"),
        None => format!("sslmode={mode}"),
    };
    let cases = vec![
        Case {
            name: "verify-full with the CA, by name",
            url: server.url("localhost", &q("verify-full", Some(&ca))),
            home_root_crt: None,
            env: vec![],
            connects: true,
        },
        Case {
            name: "verify-full to an address the certificate does not name",
            url: server.url("127.0.0.1", &q("verify-full", Some(&ca))),
            home_root_crt: None,
            env: vec![],
            connects: false,
        },
        Case {
            name: "verify-ca to that address",
            url: server.url("127.0.0.1", &q("verify-ca", Some(&ca))),
            home_root_crt: None,
            env: vec![],
            connects: true,
        },
        Case {
            name: "verify-full with another CA",
            url: server.url("localhost", &q("verify-full", Some(&rogue))),
            home_root_crt: None,
            env: vec![],
            connects: false,
        },
        Case {
            name: "verify-full with ~/.postgresql/root.crt",
            url: server.url("localhost", &q("verify-full", None)),
            home_root_crt: Some(&c.ca),
            env: vec![],
            connects: true,
        },
        Case {
            name: "verify-full without any root file",
            url: server.url("localhost", &q("verify-full", None)),
            home_root_crt: None,
            env: vec![],
            connects: false,
        },
        Case {
            name: "require checks the chain when ~/.postgresql/root.crt exists",
            url: server.url("127.0.0.1", &q("require", None)),
            home_root_crt: Some(&c.rogue_ca),
            env: vec![],
            connects: false,
        },
        Case {
            name: "require without a root file only encrypts",
            url: server.url("127.0.0.1", &q("require", None)),
            home_root_crt: None,
            env: vec![],
            connects: true,
        },
        Case {
            name: "an explicit sslrootcert that does not exist, with require",
            url: server.url("127.0.0.1", &q("require", Some("/nonexistent/ca.crt"))),
            home_root_crt: Some(&c.rogue_ca),
            env: vec![],
            connects: true,
        },
        Case {
            name: "prefer with the right root file",
            url: server.url("127.0.0.1", &q("prefer", None)),
            home_root_crt: Some(&c.ca),
            env: vec![],
            connects: true,
        },
    ];
    for case in &cases {
        run_case(&env, &server, &psql15, case);
    }

    // `sslrootcert=system` (libpq 16): the system's bundle, here SSL_CERT_FILE,
    // and verify-full unless a weaker mode is asked for, which libpq refuses.
    // libpq 16 of this test environment (pgserver's wheel) has no TLS at all,
    // so these follow libpq's documented rule instead of a psql run; pg_dump
    // 15, which does not know `system`, gets the bundle as a file.
    for (query, code) in [
        ("sslrootcert=system", 0),
        ("sslrootcert=system&sslmode=verify-full", 0),
        ("sslrootcert=system&sslmode=require", 2),
        ("sslrootcert=system&sslmode=verify-ca", 2),
    ] {
        let storage = tempfile::tempdir().unwrap();
        let out = run(k12ctl(&env)
            .env("DATABASE_URL", server.url("localhost", query))
            .env("SSL_CERT_FILE", &ca)
            .env(
                "K12CTL_STORAGE",
                format!("file://{}", storage.path().display()),
            )
            .env("K12CTL_PG_BINDIR", &server.bindir)
            .args(["backup", "run"]));
        assert_code(&out, code);
    }
    let out = run(k12ctl(&env)
        .env(
            "DATABASE_URL",
            server.url("localhost", "sslrootcert=system"),
        )
        .env("SSL_CERT_FILE", &rogue)
        .env("K12CTL_STORAGE", "file:///nonexistent-k12ctl-store")
        .env("K12CTL_PG_BINDIR", &server.bindir)
        .args(["backup", "run"]));
    assert_code(&out, 1);

    // What our environment says must not change how pg_dump connects: our
    // own connections read no PG* variable, and neither may the children.
    let inherited = Case {
        name: "libpq variables in k12ctl's environment",
        url: server.url("localhost", &q("verify-full", Some(&ca))),
        home_root_crt: None,
        env: vec![
            ("PGSSLMINPROTOCOLVERSION", "TLSv9".into()),
            ("PGSSLCRL", c.ca.display().to_string()),
            ("PGSSLMODE", "disable".into()),
        ],
        connects: true,
    };
    let home = tempfile::tempdir().unwrap();
    assert!(
        !libpq_connects(&psql15, &inherited, home.path()).0,
        "psql itself honours those variables"
    );
    let storage = tempfile::tempdir().unwrap();
    let out = run(k12ctl(&env)
        .env("DATABASE_URL", &inherited.url)
        .env(
            "K12CTL_STORAGE",
            format!("file://{}", storage.path().display()),
        )
        .env("K12CTL_PG_BINDIR", &server.bindir)
        .envs(inherited.env.iter().map(|(k, v)| (*k, v)))
        .args(["backup", "run"]));
    assert_code(&out, 0);
}
