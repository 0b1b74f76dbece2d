//! Test guest `fs_import`: lists `/` through `std::fs`, so the component imports
//! `wasi:filesystem`, which the host links closed: it loads, and finds no directory.

use arsenal_sdk::prelude::*;

struct FsImport;

impl Operation for FsImport {
    fn config() -> Config {
        Config::get("fs_import", "/api/v1/test/fs-import")
            .category("test")
            .summary("Read the filesystem")
            .description("Lists the entries of `/`.")
    }

    fn execute(_request: Request) -> Result<impl Serialize> {
        let entries = std::fs::read_dir("/")
            .map_err(|error| Error::unavailable(format!("cannot list `/`: {error}")))?;
        let names: Vec<String> = entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        Ok(json!({ "entries": names }))
    }
}

arsenal_sdk::export!(FsImport);
