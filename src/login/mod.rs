//! Interactive sign-in flows. Each returns a token for the cache; none reads stdin.

pub mod device;
