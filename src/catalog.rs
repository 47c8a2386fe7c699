//! One catalog maps (product Version, Action) to its handler and its permission, joined with
//! the product descriptions in openapi/ that drive parameter checking.

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde_json::{Map, Value};

use crate::auth::identity::Caller;
use crate::protocol::params::{ActionDoc, Params, ProductDoc};
use crate::protocol::{ApiError, ApiResult};
use crate::server::AppState;

/// An action name and the resource it acts on, as policies see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

impl Permission {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
        }
    }
}

/// Facts about the connection that policy conditions may read.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub source_ip: Option<String>,
    pub secure_transport: bool,
}

/// What a handler sees: its parameters, the caller, and the action's one transaction.
pub struct Ctx<'a> {
    pub tx: &'a Transaction<'a>,
    pub params: &'a Params,
    pub caller: &'a Caller,
    pub state: &'a AppState,
    pub facts: &'a RequestFacts,
    pub product: &'a Product,
    /// The virtual clock's time, read once per request.
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    #[must_use]
    pub fn account_id(&self) -> &str {
        &self.state.config.account_id
    }

    /// A derived check made by a handler (PassRole when a role is handed to an instance).
    pub fn authorize(&self, permission: &Permission) -> ApiResult<()> {
        crate::auth::authorize::authorize(self, std::slice::from_ref(permission))
    }
}

pub type Handler = fn(&Ctx<'_>) -> ApiResult<Map<String, Value>>;
pub type PermissionFn = fn(&Ctx<'_>) -> Vec<Permission>;

pub struct ActionSpec {
    pub name: &'static str,
    /// Writers take the write lock at the start of their transaction.
    pub write: bool,
    /// The permissions checked before the handler runs; empty for actions anyone may call.
    pub permissions: PermissionFn,
    pub handler: Handler,
}

pub struct Product {
    /// As the SDKs capitalise it: `Ram`, `Sts`, `Ecs` (used in `Recommend`).
    pub name: &'static str,
    pub version: &'static str,
    pub host: &'static str,
    pub actions: &'static [ActionSpec],
    /// The product's own denial code (NoPermission for RAM and STS, Forbidden.RAM for ECS).
    pub deny: fn() -> ApiError,
    pub doc: ProductDoc,
}

impl Product {
    #[must_use]
    pub fn action(&self, name: &str) -> Option<(&ActionSpec, &ActionDoc)> {
        let spec = self.actions.iter().find(|a| a.name == name)?;
        let doc = self.doc.actions.get(name)?;
        Some((spec, doc))
    }
}

pub struct Catalog {
    pub products: Vec<Product>,
}

/// The product descriptions, embedded so the binary carries its own contract.
pub const DOCS: &[(&str, &str)] = &[
    ("ram", include_str!("../openapi/ram.json")),
    ("sts", include_str!("../openapi/sts.json")),
    ("ecs", include_str!("../openapi/ecs.json")),
];

impl Catalog {
    /// Joins the products' action tables with their descriptions.
    pub fn load() -> Result<Self, String> {
        let doc = |code: &str| -> Result<ProductDoc, String> {
            let text = DOCS
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, t)| *t)
                .ok_or_else(|| format!("no description for {code}"))?;
            ProductDoc::load(text).map_err(|e| format!("openapi/{code}.json: {e}"))
        };
        Ok(Self {
            products: vec![
                crate::products::ram::product(doc("ram")?),
                crate::products::sts::product(doc("sts")?),
                crate::products::ecs::product(doc("ecs")?),
            ],
        })
    }

    #[must_use]
    pub fn by_version(&self, version: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.version == version)
    }

    #[must_use]
    pub fn action_count(&self) -> usize {
        self.products.iter().map(|p| p.actions.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The catalog and openapi/ must describe the same actions, product by product.
    #[test]
    fn catalog_and_descriptions_agree() {
        let catalog = Catalog::load().unwrap();
        for p in &catalog.products {
            assert_eq!(p.doc.version, p.version, "{}", p.name);
            assert_eq!(p.doc.product, p.name);
            assert_eq!(p.doc.host, p.host);
            let served: std::collections::BTreeSet<&str> =
                p.actions.iter().map(|a| a.name).collect();
            let described: std::collections::BTreeSet<&str> =
                p.doc.actions.keys().map(String::as_str).collect();
            assert_eq!(served, described, "{}: catalog vs openapi/", p.name);
            assert_eq!(
                served.len(),
                p.actions.len(),
                "{}: an action is listed twice",
                p.name
            );
            for (name, a) in &p.doc.actions {
                assert!(
                    a.response.iter().any(|f| f == "RequestId"),
                    "{}.{name} response lacks RequestId",
                    p.name
                );
            }
        }
        let versions: std::collections::BTreeSet<&str> =
            catalog.products.iter().map(|p| p.version).collect();
        assert_eq!(
            versions.len(),
            catalog.products.len(),
            "versions must be unique"
        );
    }
}
