//! An ephemeral acsemu in the current process, for Rust test suites (issue 10, item 4):
//!
//! ```no_run
//! let server = acsemu::testing::TestServer::start().unwrap();
//! println!("{} {} {}", server.endpoint, server.access_key_id, server.access_key_secret);
//! ```
//! The server listens on 127.0.0.1 on a port the OS picks and stops when dropped.

use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use crate::config::Config;
use crate::server::{bind, AppState, StartError};

pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub account_id: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub state: Arc<AppState>,
    handle: actix_web::dev::ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// In memory, enforcement on, default account and root key.
    pub fn start() -> Result<Self, StartError> {
        Self::start_with(Config::ephemeral())
    }

    pub fn start_with(config: Config) -> Result<Self, StartError> {
        let state = Arc::new(AppState::new(config)?);
        let (tx, rx) = mpsc::channel();
        let for_thread = state.clone();
        let thread = std::thread::spawn(move || {
            let system = actix_rt::System::new();
            system.block_on(async move {
                match bind(for_thread, 2) {
                    Ok(bound) => {
                        let _ = tx.send(Ok((bound.addr, bound.server.handle())));
                        let _ = bound.server.await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        });
        let (addr, handle) = rx.recv().map_err(|_| {
            StartError::Config("the server thread stopped before it listened".into())
        })??;
        Ok(Self {
            addr,
            endpoint: format!("http://{addr}"),
            account_id: state.config.account_id.clone(),
            access_key_id: state.config.root_access_key_id.clone(),
            access_key_secret: state.config.root_access_key_secret.clone(),
            state,
            handle,
            thread: Some(thread),
        })
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let stop = self.handle.stop(true);
        if let Some(t) = self.thread.take() {
            // The stop future runs on the server's own system; block on it from a small one.
            actix_rt::System::new().block_on(stop);
            let _ = t.join();
            self.state.shutdown();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
