//! Child processes that never outlive their test and never write to the test's own output.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use super::{Api, DEADLINE};

/// Owns a child process: dropping it kills the process and reaps it.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ChildGuard {
    fn spawn(mut command: Command) -> Self {
        Self(command.spawn().expect("starting the signalbox binary"))
    }

    /// Waits for the exit, polling, until `deadline`; `None` if it is still running then.
    fn wait_until(&mut self, deadline: Instant) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.0.try_wait().expect("checking on the child process") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// How a one-shot command ended.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// Asserts exit status 0 and returns stdout.
    pub fn succeeded(&self) -> &str {
        assert!(self.status.success(), "expected success, got {}\n{self:#?}", self.status);
        &self.stdout
    }

    /// Asserts the command was refused the way an operator should see it: a non-zero exit
    /// code (not a crash), no panic, and exactly one non-empty line on stderr, which is returned.
    pub fn refused_in_one_line(&self) -> &str {
        assert!(
            self.status.code().is_some_and(|code| code != 0),
            "expected a non-zero exit code, got {}\n{self:#?}",
            self.status
        );
        assert!(!self.stderr.contains("panicked"), "the binary panicked\n{self:#?}");
        let lines: Vec<&str> = self.stderr.lines().filter(|line| !line.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected exactly one line on stderr, got:\n{}", self.stderr);
        lines[0]
    }
}

/// Runs `command` to completion within [`DEADLINE`], feeding it `stdin` if given.
pub fn run_to_completion(command: Command, stdin: Option<&str>, stdout: &Path, stderr: &Path) -> Outcome {
    let started = Instant::now();
    let mut child = ChildGuard::spawn(command);
    if let Some(text) = stdin {
        let mut pipe = child.0.stdin.take().expect("stdin was piped");
        pipe.write_all(text.as_bytes()).expect("writing to the child's stdin");
        // Dropping the pipe closes it: the child sees end of input.
    }
    let Some(status) = child.wait_until(started + DEADLINE) else {
        drop(child);
        panic!("signalbox did not finish within {DEADLINE:?}; stderr:\n{}", read(stderr));
    };
    Outcome { status, stdout: read(stdout), stderr: read(stderr), elapsed: started.elapsed() }
}

/// A running `signalbox serve`, killed when dropped.
pub struct Server {
    child: ChildGuard,
    port: u16,
    stderr: PathBuf,
}

impl Server {
    pub(super) fn spawn(command: Command, port: u16, stderr: PathBuf) -> Self {
        Self { child: ChildGuard::spawn(command), port, stderr }
    }

    /// The process id (the same after `serve` restarts itself with `exec`).
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client for this server.
    pub fn api(&self) -> Api {
        Api::new(self.port)
    }

    /// Everything the server has logged so far.
    pub fn stderr(&self) -> String {
        read(&self.stderr)
    }

    /// Waits until this process has logged that it listens on its port and `GET /readyz` there
    /// answers 200; fails the test if the process exits first or [`DEADLINE`] passes. Returns
    /// the readiness body.
    pub async fn ready(&mut self) -> serde_json::Value {
        let api = self.api();
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.0.try_wait().expect("checking on the server") {
                panic!("signalbox exited with {status} before it was ready; stderr:\n{}", self.stderr());
            }
            // Only this child's port counts: another test's server may have taken it first.
            if self.has_logged_listening()
                && let Ok(reply) = api.try_get("/readyz", None).await
                && reply.status == 200
            {
                return reply.body;
            }
            assert!(
                Instant::now() < deadline,
                "port {} was not ready within {DEADLINE:?}; stderr:\n{}",
                self.port,
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn has_logged_listening(&self) -> bool {
        let address = format!("127.0.0.1:{}", self.port);
        self.stderr().lines().any(|line| line.contains("listening") && line.contains(&address))
    }

    /// Sends SIGKILL — no chance to clean up, as in a crash or an OOM kill — and waits (up to
    /// [`DEADLINE`]) for the process to exit.
    pub fn kill(&mut self) -> ExitStatus {
        // `Child::kill` is SIGKILL on Unix, sent to the still unreaped child: no pid reuse race.
        self.child.0.kill().expect("sending SIGKILL to signalbox");
        match self.child.wait_until(Instant::now() + DEADLINE) {
            Some(status) => status,
            None => panic!("signalbox survived SIGKILL for {DEADLINE:?}"),
        }
    }

    /// Sends SIGTERM and waits (up to [`DEADLINE`]) for the process to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.0.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("running kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        match self.child.wait_until(Instant::now() + DEADLINE) {
            Some(status) => status,
            None => panic!("signalbox ignored SIGTERM for {DEADLINE:?}; stderr:\n{}", self.stderr()),
        }
    }
}
