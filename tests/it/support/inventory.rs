//! Every test inventory comes from here: one builder over the typed
//! inventory, and the few shapes the tests use (the API tests' two
//! exchanges, the PeeringDB tests' exchanges, the golden renders' one
//! router, the lab's routers). `yaml()` is what a `peerd` process reads
//! (JSON is YAML); `build()` parses that text the way `peerd` does.

use super::OUR_ASN;
use crate::lab::{lab_routers, lab_routers_more, Lab};
use peerd::inventory::{Approval, Credential, HostKey, Inventory, Location, Policy, Router};
use peerd::model::LocationType;
use std::collections::BTreeMap;

/// A throwaway public key, pinned where no router is ever reached.
pub const FAKE_HOST_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeTestKeyOnly test";

/// An inventory under construction.
#[derive(Clone, Debug)]
pub struct InventoryBuilder {
    inv: Inventory,
    /// Routers added with [`InventoryBuilder::fault_router`] so far.
    faults: usize,
}

/// A router on loopback `port` that is never logged in to: a key file
/// that does not exist and a throwaway pinned host key.
pub fn router(name: &str, platform: &str, port: u16) -> Router {
    Router {
        name: name.into(),
        platform: platform.into(),
        host: "127.0.0.1".into(),
        port,
        user: "labops".into(),
        credential: Credential::KeyFile("/nonexistent/id_ed25519".into()),
        host_key: HostKey::Key(FAKE_HOST_KEY.into()),
        import_policy: None,
        export_policy: None,
        vars: BTreeMap::new(),
    }
}

impl InventoryBuilder {
    /// AS`asn`, nothing in it, the default policy.
    pub fn new(asn: u32) -> Self {
        InventoryBuilder {
            inv: Inventory {
                asn,
                routers: vec![],
                locations: vec![],
                policy: Policy::default(),
            },
            faults: 0,
        }
    }

    pub fn router(mut self, r: Router) -> Self {
        self.inv.routers.push(r);
        self
    }

    /// A public location `id` on `router`.
    pub fn location(
        mut self,
        id: &str,
        name: &str,
        router: &str,
        prefixes: &[&str],
        our_ips: &[&str],
    ) -> Self {
        self.inv.locations.push(Location {
            id: id.into(),
            kind: LocationType::Public,
            name: name.into(),
            router: router.into(),
            prefixes: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
            our_ips: our_ips.iter().map(|p| p.parse().unwrap()).collect(),
            prefix_filter: None,
        });
        self
    }

    pub fn policy(mut self, f: impl FnOnce(&mut Policy)) -> Self {
        f(&mut self.inv.policy);
        self
    }

    /// Changes the router called `name` (which must be there).
    pub fn edit_router(mut self, name: &str, f: impl FnOnce(&mut Router)) -> Self {
        let r = self.inv.routers.iter_mut().find(|r| r.name == name);
        f(r.unwrap_or_else(|| panic!("no router {name}")));
        self
    }

    /// Changes the location `id` (which must be there).
    pub fn edit_location(mut self, id: &str, f: impl FnOnce(&mut Location)) -> Self {
        let l = self.inv.locations.iter_mut().find(|l| l.id == id);
        f(l.unwrap_or_else(|| panic!("no location {id}")));
        self
    }

    /// Automatic approval, private-use requester ASNs accepted (the tests'
    /// peers use them).
    pub fn auto(self) -> Self {
        self.policy(|p| {
            p.approval = Approval::Auto;
            p.allow_private_asns = true;
        })
    }

    /// `router` with a location of its own, `pdb:ix:<n>` on
    /// `2001:db8:<n>::/64` (n = 11, 12, ... in the order they are added).
    pub fn fault_router(self, r: Router) -> Self {
        let n = 11 + self.faults;
        let name = r.name.clone();
        let mut b = self.router(r).location(
            &format!("pdb:ix:{n}"),
            &format!("Fault-IX-{n}"),
            &name,
            &[&format!("2001:db8:{n}::/64")],
            &[&format!("2001:db8:{n}::1")],
        );
        b.faults += 1;
        b
    }

    /// The inventory as a `peerd` process reads it.
    pub fn yaml(&self) -> String {
        serde_json::to_string_pretty(&self.inv).unwrap()
    }

    /// The inventory, parsed from [`InventoryBuilder::yaml`] and checked as
    /// `peerd` checks it.
    pub fn build(&self) -> Inventory {
        Inventory::from_yaml(&self.yaml(), "inventory.yaml").expect("test inventory")
    }

    // ---- the shapes the tests use ----

    /// The API tests': `rtr1` (frr, port 2222) serves `pdb:ix:1`
    /// (192.0.2.0/24, 2001:db8::/64), `rtr2` (bird2, port 2223, a password
    /// from an unset variable) serves `pdb:ix:2` (198.51.100.0/24,
    /// 2001:db8:2::/64); AS64666 is denied; 100 sessions per request.
    pub fn api(approval: &str, allow_private: bool) -> Self {
        let approval = match approval {
            "auto" => Approval::Auto,
            "manual" => Approval::Manual,
            other => panic!("approval {other}?"),
        };
        let mut rtr2 = router("rtr2", "bird2", 2223);
        rtr2.credential = Credential::PasswordEnv("PEERD_TEST_NO_SUCH_VAR".into());
        InventoryBuilder::new(OUR_ASN)
            .router(router("rtr1", "frr", 2222))
            .router(rtr2)
            .location(
                "pdb:ix:1",
                "Test-IX-One",
                "rtr1",
                &["192.0.2.0/24", "2001:db8::/64"],
                &["192.0.2.1", "2001:db8::1"],
            )
            .location(
                "pdb:ix:2",
                "Test-IX-Two",
                "rtr2",
                &["198.51.100.0/24", "2001:db8:2::/64"],
                &["198.51.100.1", "2001:db8:2::1"],
            )
            .policy(|p| {
                p.approval = approval;
                p.allow_private_asns = allow_private;
                p.deny_asns = vec![64666];
                p.max_sessions_per_request = 100;
            })
    }

    /// The PeeringDB tests': `rtr1` (frr) at Lab-IX (`pdb:ix:42`,
    /// 192.0.2.0/24, 2001:db8::/64) and Example-IX (`pdb:ix:43`,
    /// 198.51.100.0/24, 2001:db8:43::/64), as the dump knows them.
    pub fn exchanges() -> Self {
        InventoryBuilder::new(OUR_ASN)
            .router(router("rtr1", "frr", 2222))
            .location(
                "pdb:ix:42",
                "Lab-IX",
                "rtr1",
                &["192.0.2.0/24", "2001:db8::/64"],
                &["192.0.2.1", "2001:db8::1"],
            )
            .location(
                "pdb:ix:43",
                "Example-IX",
                "rtr1",
                &["198.51.100.0/24", "2001:db8:43::/64"],
                &["198.51.100.1", "2001:db8:43::1"],
            )
    }

    /// The golden renders': one router `rtr1` on `platform` at Lab IX
    /// (`pdb:ix:42`), automatic approval, max-prefix 1000 / 200.
    pub fn golden(platform: &str) -> Self {
        let mut rtr1 = router("rtr1", platform, 2222);
        rtr1.credential = Credential::KeyFile("/tmp/peering-lab/ssh/id_ed25519".into());
        rtr1.host_key = HostKey::KnownHosts("/tmp/peering-lab/ssh/known_hosts".into());
        InventoryBuilder::new(OUR_ASN)
            .router(rtr1)
            .location(
                "pdb:ix:42",
                "Lab IX",
                "rtr1",
                &["192.0.2.0/24", "2001:db8::/64"],
                &["192.0.2.1", "2001:db8::1"],
            )
            .auto()
            .policy(|p| {
                p.max_prefix_v4 = 1000;
                p.max_prefix_v6 = 200;
            })
    }

    /// The lab: `pdb:ix:1` on `rtr` (FRR), `pdb:ix:2` on `rtr2` (BIRD), both
    /// on the lab LAN; automatic approval, a one-hour time window.
    pub fn lab(lab: &Lab) -> Self {
        let (rtr, rtr2) = lab_routers(lab);
        let lan = [lab.get("LAN_V4"), lab.get("LAN_V6")];
        InventoryBuilder::new(lab.get("RTR_ASN").parse().unwrap())
            .router(rtr)
            .router(rtr2)
            .location(
                "pdb:ix:1",
                "Lab-IX-FRR",
                "rtr",
                &lan,
                &[lab.get("RTR_V4"), lab.get("RTR_V6")],
            )
            .location(
                "pdb:ix:2",
                "Lab-IX-BIRD",
                "rtr2",
                &lan,
                &[lab.get("RTR2_V4"), lab.get("RTR2_V6")],
            )
            .auto()
            .policy(|p| {
                p.max_sessions_per_request = 100;
                p.time_window_secs = 3600;
            })
    }

    /// [`InventoryBuilder::lab`] plus `pdb:ix:3` on `rtr3` (OpenBGPD) and
    /// `pdb:ix:4` on `rtr4` (GoBGP), on the same LAN.
    pub fn lab_more(lab: &Lab) -> Self {
        let (rtr3, rtr4) = lab_routers_more(lab);
        let lan = [lab.get("LAN_V4"), lab.get("LAN_V6")];
        Self::lab(lab)
            .router(rtr3)
            .router(rtr4)
            .location(
                "pdb:ix:3",
                "Lab-IX-OpenBGPD",
                "rtr3",
                &lan,
                &[lab.get("RTR3_V4"), lab.get("RTR3_V6")],
            )
            .location(
                "pdb:ix:4",
                "Lab-IX-GoBGP",
                "rtr4",
                &lan,
                &[lab.get("RTR4_V4"), lab.get("RTR4_V6")],
            )
    }
}
