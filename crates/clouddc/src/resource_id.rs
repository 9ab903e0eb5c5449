//! The spec's `ResourceId`, defined in `clouddc_auth` (the simulator checks ids
//! with the same rules) and re-exported here, where the generated client names it.

pub use clouddc_auth::resource_id::{InvalidResourceId, ResourceId};
