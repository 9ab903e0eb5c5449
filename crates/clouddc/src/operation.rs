//! The spec's three operations, named once: by their `operationId` (what
//! errors and logs say) and by the id progenitor gives the hooks
//! (`OperationInfo::operation_id`, the method's name).

/// One operation of `openapi/clouddc.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The spec's `operationId`.
    pub name: &'static str,
    /// progenitor's id for it, the generated method's name.
    pub generated_id: &'static str,
}

/// `POST .../logs/exports`: starts an export task.
pub const EXPORT: Operation = Operation {
    name: "ExportServerLogs",
    generated_id: "export_server_logs",
};

/// `GET .../logs/exports/{export_id}`: the task's progress.
pub const STATUS: Operation = Operation {
    name: "ShowLogsExportStatus",
    generated_id: "show_logs_export_status",
};

/// `GET .../logs/exports/{export_id}/content`: the archive.
pub const DOWNLOAD: Operation = Operation {
    name: "DownloadServerLogs",
    generated_id: "download_server_logs",
};

/// Every operation of the spec.
pub const ALL: [Operation; 3] = [EXPORT, STATUS, DOWNLOAD];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_specs_operation_ids() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/clouddc.yaml");
        let text = std::fs::read_to_string(path).expect("the spec is readable");
        let mut in_spec: Vec<&str> = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix("operationId:"))
            .map(str::trim)
            .collect();
        in_spec.sort_unstable();
        let mut ours: Vec<&str> = ALL.iter().map(|o| o.name).collect();
        ours.sort_unstable();
        assert_eq!(ours, in_spec);
    }

    #[test]
    fn generated_ids_are_what_the_generated_client_reports() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/generated.rs"));
        for operation in ALL {
            let reported = format!("operation_id: \"{}\"", operation.generated_id);
            assert!(generated.contains(&reported), "{operation:?}");
        }
    }
}
