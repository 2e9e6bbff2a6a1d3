//! The `chainsignal` binary's pieces: CLI, application wiring, console adapter, HTTP.
//! Adapters only translate: platform event -> Invocation -> command -> Reply -> message.

pub mod app;
pub mod cli;
pub mod console;
pub mod delivery;
pub mod discord;
pub mod http;
pub mod keys_form;
pub mod logging;
pub mod metrics;
pub mod scheduler;
pub mod shutdown;
pub mod supervise;
pub mod telegram;
