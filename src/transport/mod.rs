//! Transports: how peerd reaches a router.

pub mod netconf;
