//! End-to-end tests of the `signalbox` binary: each test starts the real executable in its
//! own temporary directory and judges it only by what an operator would see — exit status,
//! output lines, files, and HTTP answers on 127.0.0.1.
#![cfg(unix)]

mod action_crash;
mod admin_commands;
mod backup;
mod bootstrap;
mod config;
mod crash;
mod serve;
mod startup_errors;
mod support;
mod usage;
mod webhook_crash;
