//! The web's vocabulary, shared by the HTML rewriter and the lure scorer:
//! URLs, domains (organizational domain, lookalikes, IDN) and entities.

pub(crate) mod domain;
mod entities;
mod url;

pub(crate) use entities::decode_entities;
pub(crate) use url::{parse_url, shown_domain};
