//! Opening the database and applying migrations (tracked with `PRAGMA user_version`).

use std::path::Path;

use crate::Store;
use crate::StoreOptions;
use crate::error::Result;

pub(crate) fn open(path: &Path, options: &StoreOptions) -> Result<Store> {
    unimplemented!("{path:?}{options:?}")
}

pub(crate) fn open_in_memory() -> Result<Store> {
    unimplemented!()
}
