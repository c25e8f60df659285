//! What a user may pass besides a prefix, on TensorFlow-written fixtures: a SavedModel
//! directory and its `variables/` folder, the `checkpoint` state file, and files that are not
//! checkpoints (tests/fixtures/not_checkpoints, where TensorFlow answers "not an sstable"),
//! which ckview names for what they are, with what to pass instead.

use std::path::{Path, PathBuf};

use ckview::ffi::ckview_status;
use ckview::format::{Bundle, FormatError};
use serde_json::Value;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(path)
}

fn answers(folder: &str, file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(folder).join(file)).unwrap()).unwrap()
}

fn keys(bundle: &Bundle) -> Vec<String> {
    bundle.tensors().unwrap().into_iter().map(|(key, _)| String::from_utf8(key).unwrap()).collect()
}

#[test]
fn a_saved_model_directory_and_its_variables_folder_open_variables_variables() {
    let answer = answers("saved_model", "tf_answers.json");
    let listed: Vec<&str> = answer["list_variables"].as_array().unwrap().iter().map(|row| row[0].as_str().unwrap()).collect();
    for given in ["saved_model", "saved_model/", "saved_model/variables", "saved_model/variables/"] {
        let bundle = Bundle::open(&fixture(given)).unwrap_or_else(|error| panic!("{given}: {error}"));
        assert!(bundle.prefix().ends_with("saved_model/variables/variables"), "{given}: {}", bundle.prefix().display());
        assert_eq!(keys(&bundle), listed, "{given}");
    }
    assert!(ckview::CheckpointView::open(fixture("saved_model")).is_ok());
}

#[test]
fn the_state_file_itself_opens_the_latest_checkpoint() {
    for folder in ["manager", "doc_children"] {
        let latest = answers(folder, "golden.json")["checkpoint_state"]["latest_checkpoint"].as_str().unwrap().to_string();
        let bundle = Bundle::open(&fixture(folder).join("checkpoint")).unwrap();
        assert_eq!(bundle.prefix(), fixture(folder).join(latest));
    }
}

#[test]
fn files_that_are_not_checkpoints_are_named_for_what_they_are() {
    let answer = answers("not_checkpoints", "tf_answers.json");
    let cases = [
        ("not_checkpoints/model.weights.h5", "HDF5", "h5py"),
        ("not_checkpoints/model.keras", "Keras archive", "load_model"),
        ("not_checkpoints/saved_model.pb", "SavedModel's graph", "SavedModel directory"),
        ("saved_model/saved_model.pb", "SavedModel's graph", "saved_model"),
        ("not_checkpoints/model.ckpt.meta", "TF1 MetaGraph", "not_checkpoints/model.ckpt"),
    ];
    for (path, kind, advice) in cases {
        if let Some(name) = path.strip_prefix("not_checkpoints/") {
            // TensorFlow opens the file as a table and fails: so does it here, but by name.
            assert_eq!(answer["load_checkpoint"][name]["file"]["type"], "DataLossError");
        }
        let error = Bundle::open(&fixture(path)).unwrap_err();
        let FormatError::NotACheckpoint { ref what, ref instead, .. } = error else { panic!("{path}: {error:?}") };
        assert!(what.contains(kind), "{path}: {what}");
        assert!(instead.contains(advice), "{path}: {instead}");
        assert_eq!(ckview_status::from(&error), ckview_status::CKVIEW_NOT_A_CHECKPOINT);
        assert_eq!(ckview_status::CKVIEW_NOT_A_CHECKPOINT as i32, 20);
    }
    // The name without its extension is no file: not found, as in TensorFlow.
    for name in ["model.weights", "model", "saved_model"] {
        assert!(matches!(Bundle::open(&fixture("not_checkpoints").join(name)), Err(FormatError::NotFound { .. })), "{name}");
    }
    let name = unsafe { std::ffi::CStr::from_ptr(ckview::ffi::ckview_status_name(20)) };
    assert_eq!(name.to_str().unwrap(), "CKVIEW_NOT_A_CHECKPOINT");
}

/// Every path form of `path_forms/tf_answers.json`: where TensorFlow's `load_checkpoint` opens
/// the checkpoint a form names, ckview opens the same one from the form itself (the same keys),
/// also where TensorFlow fails on the form (a data shard, the state file, a SavedModel directory,
/// a V1 save path) or reads nothing (`P.index`, which it takes for an empty V1 table). What names
/// no checkpoint fails as not found, or is named for what it is.
#[test]
fn every_path_form_opens_what_tensorflow_opens_for_the_checkpoint_it_names() {
    let answers = answers("path_forms", "tf_answers.json");
    let forms = answers["load_checkpoint"].as_object().unwrap();
    assert!(forms.len() >= 19);
    let mut better = Vec::new();
    for (form, answer) in forms {
        let opened = ckview::format::Checkpoint::open(&fixture(form));
        match answer["named"]["keys"].as_array() {
            Some(keys) => {
                let expected: Vec<&str> = keys.iter().map(|key| key.as_str().unwrap()).collect();
                let checkpoint = opened.unwrap_or_else(|error| panic!("{form}: {error}"));
                let mut listed: Vec<String> =
                    checkpoint.tensors().unwrap().into_iter().map(|tensor| String::from_utf8(tensor.name).unwrap()).collect();
                listed.sort();
                assert_eq!(listed, expected, "{form}");
                if answer["given"]["keys"].as_array().map_or(true, |given| given.len() != keys.len()) {
                    better.push(form.as_str());
                }
            }
            None => {
                let error = opened.expect_err(form);
                assert!(answer["given"]["error"].is_object(), "{form}");
                assert!(matches!(error, FormatError::NotFound { .. } | FormatError::NotACheckpoint { .. }), "{form}: {error:?}");
            }
        }
    }
    assert_eq!(
        better,
        [
            "doc_children/checkpoint",
            "doc_children/tf_ckpts-1.data-00000-of-00001",
            "doc_children/tf_ckpts-1.index",
            "saved_model",
            "saved_model/variables",
            "v1/sharded/model.ckpt"
        ]
    );
}
