//! Flags and environment in one struct.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8790";
pub const DEFAULT_DATA: &str = ".acsemu/acsemu.db";
pub const DEFAULT_ACCOUNT_ID: &str = "1234567890123456";
pub const DEFAULT_ROOT_ACCESS_KEY_ID: &str = "LTAI5tAcsemuRoot00000001";
pub const DEFAULT_ROOT_ACCESS_KEY_SECRET: &str = "acsemuRootSecret00000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// `acsemu serve` flags; each also reads an `ACSEMU_*` variable.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address of the API listener.
    #[arg(long, env = "ACSEMU_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// SQLite database file, created on first start.
    #[arg(long, env = "ACSEMU_DATA", default_value = DEFAULT_DATA)]
    pub data: PathBuf,
    /// Keep all state in memory (nothing survives the process).
    #[arg(long, env = "ACSEMU_IN_MEMORY", conflicts_with = "data")]
    pub in_memory: bool,
    /// The emulated account's 16-digit id.
    #[arg(long, env = "ACSEMU_ACCOUNT_ID", default_value = DEFAULT_ACCOUNT_ID)]
    pub account_id: String,
    /// The account's root AccessKeyId.
    #[arg(long, env = "ACSEMU_ROOT_ACCESS_KEY_ID", default_value = DEFAULT_ROOT_ACCESS_KEY_ID)]
    pub root_access_key_id: String,
    /// The account's root AccessKeySecret.
    #[arg(long, env = "ACSEMU_ROOT_ACCESS_KEY_SECRET", default_value = DEFAULT_ROOT_ACCESS_KEY_SECRET, hide_env_values = true)]
    pub root_access_key_secret: String,
    /// Start the virtual clock this many seconds ahead of the wall clock.
    #[arg(long, env = "ACSEMU_CLOCK_OFFSET", allow_negative_numbers = false)]
    pub clock_offset: Option<u32>,
    /// RAM policy enforcement on every action.
    #[arg(long, env = "ACSEMU_ENFORCE", value_enum, default_value = "on")]
    pub enforce: Switch,
    /// Log line format (logs go to standard error).
    #[arg(long, env = "ACSEMU_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// When set, the control endpoints (`/_acsemu/*`) require it in `X-Acsemu-Control-Token`.
    #[arg(long, env = "ACSEMU_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Only warnings and errors in the log.
    #[arg(long, short, env = "ACSEMU_QUIET")]
    pub quiet: bool,
    /// Also serve the instance metadata service, alone, on this address
    /// (e.g. `100.100.100.200:80` after `ip addr add 100.100.100.200/32 dev lo`).
    #[arg(long, env = "ACSEMU_METADATA_LISTEN")]
    pub metadata_listen: Option<SocketAddr>,
    /// The instance the metadata service answers for when a request does not say.
    #[arg(long, env = "ACSEMU_METADATA_INSTANCE")]
    pub metadata_instance: Option<String>,
    /// Metadata GETs need a token from `PUT /latest/api/token` (hardened mode).
    #[arg(long, env = "ACSEMU_METADATA_HARDENED")]
    pub metadata_hardened: bool,
    /// Also serve OSS, alone, on this address (every request there is an OSS request).
    #[arg(long, env = "ACSEMU_OSS_LISTEN")]
    pub oss_listen: Option<SocketAddr>,
}

/// What the running server needs of the flags.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data: Option<PathBuf>,
    pub account_id: String,
    pub root_access_key_id: String,
    pub root_access_key_secret: String,
    pub clock_offset: Option<u32>,
    pub enforce: bool,
    pub control_token: Option<String>,
    pub metadata_listen: Option<SocketAddr>,
    pub metadata_instance: Option<String>,
    pub metadata_hardened: bool,
    pub oss_listen: Option<SocketAddr>,
}

impl Config {
    /// Checks the values clap cannot: the account id's shape.
    pub fn from_args(a: &ServeArgs) -> Result<Self, String> {
        if a.account_id.len() != 16 || !a.account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "the account id must be 16 digits, got {:?}",
                a.account_id
            ));
        }
        if a.root_access_key_id.is_empty() || a.root_access_key_secret.is_empty() {
            return Err("the root AccessKeyId and AccessKeySecret must not be empty".into());
        }
        Ok(Self {
            listen: a.listen,
            data: (!a.in_memory).then(|| a.data.clone()),
            account_id: a.account_id.clone(),
            root_access_key_id: a.root_access_key_id.clone(),
            root_access_key_secret: a.root_access_key_secret.clone(),
            clock_offset: a.clock_offset,
            enforce: a.enforce == Switch::On,
            control_token: a.control_token.clone().filter(|t| !t.is_empty()),
            metadata_listen: a.metadata_listen,
            metadata_instance: a.metadata_instance.clone().filter(|i| !i.is_empty()),
            metadata_hardened: a.metadata_hardened,
            oss_listen: a.oss_listen,
        })
    }

    /// Defaults for embedding and tests: in memory, on an ephemeral loopback port.
    #[must_use]
    pub fn ephemeral() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: None,
            account_id: DEFAULT_ACCOUNT_ID.into(),
            root_access_key_id: DEFAULT_ROOT_ACCESS_KEY_ID.into(),
            root_access_key_secret: DEFAULT_ROOT_ACCESS_KEY_SECRET.into(),
            clock_offset: None,
            enforce: true,
            control_token: None,
            metadata_listen: None,
            metadata_instance: None,
            metadata_hardened: false,
            oss_listen: None,
        }
    }
}
