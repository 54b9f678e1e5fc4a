//! A real distributed store: a three-node Garage cluster with replication
//! factor 3, started by the test itself beside the suite's single node. One
//! node killed while a backup uploads: the cluster keeps its quorum, the
//! backup completes and verifies. Two nodes down: the backup fails with one
//! clear line, and once the nodes are back nothing is listed as a good
//! backup and no upload is left after prune.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// How long the cluster may take to come up, or to see a node again.
const READY: Duration = Duration::from_secs(60);

struct Node {
    config: PathBuf,
    s3_port: u16,
    child: Option<Child>,
}

struct Cluster {
    garage: PathBuf,
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
    /// `id@address` of each node.
    ids: Vec<String>,
    bucket: String,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn garage_bin() -> PathBuf {
    PathBuf::from(std::env::var("K12CTL_TEST_GARAGE_BIN").unwrap_or_else(|_| {
        panic!("K12CTL_TEST_GARAGE_BIN is not set: run the suite with scripts/test.sh")
    }))
}

impl Cluster {
    /// Three nodes in three zones, every object on all three, the suite's
    /// access key imported and one bucket.
    fn start(env: &Env) -> Self {
        let garage = garage_bin();
        let dir = tempfile::tempdir().unwrap();
        let secret: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let root = dir.path().join(format!("node{i}"));
            std::fs::create_dir_all(root.join("meta")).unwrap();
            std::fs::create_dir_all(root.join("data")).unwrap();
            let (s3_port, rpc_port, admin_port) = (free_port(), free_port(), free_port());
            let config = root.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    "metadata_dir = \"{meta}\"\ndata_dir = \"{data}\"\ndb_engine = \"sqlite\"\n\
                     metadata_fsync = false\ndata_fsync = false\nreplication_factor = 3\n\
                     rpc_bind_addr = \"127.0.0.1:{rpc_port}\"\n\
                     rpc_public_addr = \"127.0.0.1:{rpc_port}\"\nrpc_secret = \"{secret}\"\n\
                     [s3_api]\ns3_region = \"{region}\"\napi_bind_addr = \"127.0.0.1:{s3_port}\"\n\
                     root_domain = \".s3.garage.localhost\"\n\
                     [admin]\napi_bind_addr = \"127.0.0.1:{admin_port}\"\n",
                    meta = root.join("meta").display(),
                    data = root.join("data").display(),
                    region = env.region,
                ),
            )
            .unwrap();
            nodes.push(Node {
                config,
                s3_port,
                child: None,
            });
        }
        let mut cluster = Self {
            garage,
            _dir: dir,
            nodes,
            ids: Vec::new(),
            bucket: format!("cluster-{}", unique("b").replace('_', "-")),
        };
        for i in 0..3 {
            cluster.start_node(i);
        }
        let ids: Vec<String> = (0..3)
            .map(|i| {
                let out = cluster.cli_ok(i, &["node", "id", "-q"]);
                out.trim().to_owned()
            })
            .collect();
        for id in &ids[1..] {
            cluster.cli_ok(0, &["node", "connect", id]);
        }
        cluster.ids = ids.clone();
        for (i, id) in ids.iter().enumerate() {
            let short = id.split('@').next().unwrap();
            let zone = format!("dc{i}");
            cluster.cli_ok(0, &["layout", "assign", "-z", &zone, "-c", "1G", short]);
        }
        cluster.cli_ok(0, &["layout", "apply", "--version", "1"]);
        cluster.cli_ok(
            0,
            &[
                "key",
                "import",
                "--yes",
                "-n",
                "k12ctl-test",
                &env.access_key,
                &env.secret_key,
            ],
        );
        // Right after the layout change the cluster may refuse writes for a moment.
        let bucket = cluster.bucket.clone();
        cluster.retry(0, &["bucket", "create", &bucket]);
        cluster.cli_ok(
            0,
            &[
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                &bucket,
                "--key",
                "k12ctl-test",
            ],
        );
        cluster
    }

    fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::File::create(node.config.with_file_name("garage.log")).unwrap();
        let child = Command::new(&self.garage)
            .arg("-c")
            .arg(&node.config)
            .arg("server")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("garage starts");
        node.child = Some(child);
        self.retry(i, &["status"]);
    }

    /// Start a node that was killed, and have the first node reconnect to
    /// it now rather than at its next periodic attempt.
    fn restart(&mut self, i: usize) {
        self.start_node(i);
        let id = self.ids[i].clone();
        self.retry(0, &["node", "connect", &id]);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn cli(&self, i: usize, args: &[&str]) -> Output {
        Command::new(&self.garage)
            .arg("-c")
            .arg(&self.nodes[i].config)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .output()
            .expect("the garage CLI runs")
    }

    fn cli_ok(&self, i: usize, args: &[&str]) -> String {
        let out = self.cli(i, args);
        assert!(
            out.status.success(),
            "garage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run a garage command until it succeeds, within [`READY`].
    fn retry(&self, i: usize, args: &[&str]) {
        let started = Instant::now();
        loop {
            let out = self.cli(i, args);
            if out.status.success() {
                return;
            }
            assert!(
                started.elapsed() < READY,
                "garage {args:?} still failing after {READY:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// k12ctl on `db`, its storage a prefix of the cluster's bucket, talking
    /// to node `i`.
    fn k12ctl(&self, env: &Env, i: usize, db: &TestDb, prefix: &str) -> Command {
        let mut cmd = k12ctl(env);
        cmd.env("K12CTL_S3_ENDPOINT", self.endpoint(i))
            .env("DATABASE_URL", &db.url)
            .env("K12CTL_STORAGE", format!("s3://{}/{prefix}", self.bucket));
        cmd
    }

    /// Multipart uploads under `prefix` that have not completed, seen by node `i`.
    fn pending_uploads(&self, env: &Env, i: usize, prefix: &str) -> Option<Vec<String>> {
        let out = Command::new("aws")
            .arg("--endpoint-url")
            .arg(self.endpoint(i))
            .args([
                "s3api",
                "list-multipart-uploads",
                "--bucket",
                &self.bucket,
                "--prefix",
                prefix,
                "--query",
                "Uploads[].Key",
                "--output",
                "text",
            ])
            .env("AWS_ACCESS_KEY_ID", &env.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &env.secret_key)
            .env("AWS_DEFAULT_REGION", &env.region)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .expect("the aws CLI runs");
        out.status.success().then(|| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter(|k| *k != "None")
                .map(str::to_owned)
                .collect()
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            if let Some(mut child) = self.nodes[i].child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A database of some 60 MB of poorly compressible rows: its backup takes
/// several parts, long enough to lose a node in the middle.
fn big_db(env: &Env) -> TestDb {
    let db = TestDb::new(env, "cluster");
    db.sql(
        "CREATE TABLE readings (id bigint PRIMARY KEY, a text, b text, c text);
         INSERT INTO readings
           SELECT g, md5(g::text), md5((g * 7)::text), md5((g * 13)::text)
           FROM generate_series(1, 500000) g;",
    );
    db
}

fn wait_for(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}; killed\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("k12ctl runs")
}

#[test]
fn a_node_lost_during_a_backup_leaves_the_quorum_to_finish_it() {
    let env = env();
    let mut cluster = Cluster::start(&env);
    let db = big_db(&env);
    let prefix = format!("t/{}", unique("quorum"));

    let backup = spawn(
        cluster
            .k12ctl(&env, 0, &db, &prefix)
            .args(["--output", "json", "backup", "run"]),
    );
    let mut backup = Some(backup);
    // The upload is under way once its multipart upload exists.
    let started = Instant::now();
    loop {
        let child = backup.as_mut().unwrap();
        assert!(
            child.try_wait().unwrap().is_none(),
            "the backup ended before its upload was seen: {}",
            String::from_utf8_lossy(&backup.take().unwrap().wait_with_output().unwrap().stderr)
        );
        if cluster
            .pending_uploads(&env, 0, &prefix)
            .is_some_and(|u| !u.is_empty())
        {
            break;
        }
        assert!(started.elapsed() < READY, "no upload started in {READY:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    cluster.kill(2);
    let out = wait_for(backup.take().unwrap(), Duration::from_secs(300));
    assert_code(&out, 0);
    let report = json(&out);
    let id = report["id"].as_str().unwrap().to_owned();
    assert_eq!(report["status"], "completed", "{report}");

    // Verified and restored with one node still down.
    let verify = run(cluster
        .k12ctl(&env, 1, &db, &prefix)
        .args(["--output", "json", "backup", "verify", &id]));
    assert_code(&verify, 0);
    assert_eq!(json(&verify)["status"], "verified");
    let restored = unique("k12t_cluster_restored");
    let restore = run(cluster.k12ctl(&env, 1, &db, &prefix).args([
        "restore", "--backup", &id, "--target", &restored, "--create", "--yes",
    ]));
    assert_code(&restore, 0);
    let copy = TestDb::adopt(&pg_server(&env, "pg15"), &restored);
    assert_eq!(copy.table_checksums(), db.table_checksums());
}

#[test]
fn a_backup_without_a_quorum_fails_cleanly_and_leaves_nothing() {
    let env = env();
    let mut cluster = Cluster::start(&env);
    let db = TestDb::new(&env, "noquorum");
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g;");
    let prefix = format!("t/{}", unique("noquorum"));
    cluster.kill(1);
    cluster.kill(2);

    let (out, took) = run_within(
        cluster
            .k12ctl(&env, 0, &db, &prefix)
            .args(["backup", "run"]),
        Duration::from_secs(240),
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    assert_code(&out, 1);
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one error line, not: {err}");
    assert!(
        err.contains("ServiceUnavailable") && err.contains("quorum"),
        "the store's own reason: {err}"
    );
    for dump in [
        "ErrorMetadata",
        "SdkBody",
        "raw: Response",
        "DispatchFailure",
    ] {
        assert!(!err.contains(dump), "no SDK internals ({dump}): {err}");
    }
    assert!(took < Duration::from_secs(240));
    eprintln!("without quorum, after {took:?}: {err}");

    // The nodes come back: nothing of that run is listed as good, and no
    // upload is left once prune has run.
    cluster.restart(1);
    cluster.restart(2);
    let started = Instant::now();
    let listed = loop {
        let list = run(cluster
            .k12ctl(&env, 0, &db, &prefix)
            .args(["--output", "json", "backup", "list"]));
        if list.status.success() {
            break json(&list);
        }
        assert!(started.elapsed() < READY, "{}", stderr(&list));
        std::thread::sleep(Duration::from_millis(200));
    };
    let good: Vec<_> = listed["backups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["status"] == "completed" || b["status"] == "verified")
        .collect();
    assert!(good.is_empty(), "{listed}");
    let prune =
        run(cluster
            .k12ctl(&env, 0, &db, &prefix)
            .args(["backup", "prune", "--keep-last", "1"]));
    assert_code(&prune, 0);
    assert_eq!(cluster.pending_uploads(&env, 0, &prefix), Some(vec![]));
}
