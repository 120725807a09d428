//! Running the real `signalbox` binary: sandboxes, one-shot commands and servers, and an HTTP
//! client that only ever talks to 127.0.0.1.

mod http;
mod postgres;
mod process;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempfile::TempDir;

pub use http::Api;
pub use postgres::ScratchDatabase;
pub use process::{Outcome, Server};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_signalbox");

/// How long anything may take before a test gives up on it.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// The owner most tests bootstrap.
pub const OWNER_EMAIL: &str = "owner@example.test";
pub const OWNER_PASSWORD: &str = "correct horse battery staple";

/// Cheap Argon2 parameters: every login hashes.
pub const FAST_HASHING: [&str; 4] = ["--argon2-memory-kib", "64", "--argon2-iterations", "1"];

/// One test's world: an empty working directory for the binary, and a separate directory for
/// the logs of the processes it starts (so the working directory holds only what signalbox
/// wrote).
pub struct Sandbox {
    dir: TempDir,
    logs: TempDir,
    spawned: AtomicUsize,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("creating a temporary directory"),
            logs: tempfile::tempdir().expect("creating a temporary directory"),
            spawned: AtomicUsize::new(0),
        }
    }

    /// The working directory of every process started here.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.file(name);
        std::fs::write(&path, contents).expect("writing a file into the sandbox");
        path
    }

    /// `signalbox ARGS` in this sandbox with none of the test's own configuration leaking in.
    /// stdin is closed; stdout and stderr go to fresh files in the log directory, whose paths
    /// are returned alongside.
    fn command<S: AsRef<OsStr>>(&self, args: &[S], envs: &[(&str, &str)]) -> (Command, PathBuf, PathBuf) {
        let n = self.spawned.fetch_add(1, Ordering::Relaxed);
        let stdout_path = self.logs.path().join(format!("{n}.stdout"));
        let stderr_path = self.logs.path().join(format!("{n}.stderr"));
        let stdout = std::fs::File::create(&stdout_path).expect("creating a log file");
        let stderr = std::fs::File::create(&stderr_path).expect("creating a log file");
        let mut command = Command::new(BIN);
        command.args(args).current_dir(self.path()).stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        command.env_remove("DATABASE_URL");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("SIGNALBOX_") {
                command.env_remove(&name);
            }
        }
        command.envs(envs.iter().copied());
        (command, stdout_path, stderr_path)
    }

    /// Runs a command to completion (within [`DEADLINE`]).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Outcome {
        self.run_with(args, &[], None)
    }

    /// Runs a command with extra environment variables and, optionally, text on stdin.
    pub fn run_with<S: AsRef<OsStr>>(&self, args: &[S], envs: &[(&str, &str)], stdin: Option<&str>) -> Outcome {
        let (mut command, stdout, stderr) = self.command(args, envs);
        if stdin.is_some() {
            command.stdin(Stdio::piped());
        }
        process::run_to_completion(command, stdin, &stdout, &stderr)
    }

    /// Starts `signalbox ARGS` expecting it to serve on `port`; see [`Server::ready`].
    pub fn spawn_server<S: AsRef<OsStr>>(&self, args: &[S], envs: &[(&str, &str)], port: u16) -> Server {
        let (command, _, stderr) = self.command(args, envs);
        Server::spawn(command, port, stderr)
    }

    /// `signalbox serve` on a free port (see [`serve_args`]) as the test owner, plus `extra`
    /// (which may name another `--admin-email`/`--admin-password`); returns once ready.
    pub async fn serve(&self, extra: &[&str]) -> Server {
        let port = free_port();
        let mut args = serve_args(port);
        if !extra.contains(&"--admin-email") {
            args.extend(["--admin-email".to_owned(), OWNER_EMAIL.to_owned()]);
        }
        if !extra.contains(&"--admin-password") {
            args.extend(["--admin-password".to_owned(), OWNER_PASSWORD.to_owned()]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut server = self.spawn_server(&args, &[], port);
        server.ready().await;
        server
    }
}

/// `serve` on 127.0.0.1:`port` with fast hashing, no login throttling and a short shutdown
/// grace period; no owner credentials.
pub fn serve_args(port: u16) -> Vec<String> {
    let mut args: Vec<String> = ["serve", "--listen", &format!("127.0.0.1:{port}")].map(String::from).into();
    args.extend(["--login-max-failures", "0", "--shutdown-timeout", "5s"].map(String::from));
    args.extend(FAST_HASHING.map(String::from));
    args
}

/// A port nothing listens on right now: bind port 0, note the port, let it go.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().expect("a bound listener has an address").port()
}
