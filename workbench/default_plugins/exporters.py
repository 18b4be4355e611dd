"""The built-in export formats (Parquet and Hugging Face need optional extras, named when missing)."""

from workbench.api import Exporter, hookimpl


@hookimpl(trylast=True)
def register_exporters(register):
    from workbench.export.arrow import write_hf, write_parquet
    from workbench.export.formats import write_csv, write_jsonl, write_spacy

    register(Exporter("jsonl", "jsonl", write_jsonl, "one JSON record per line (default)",
                      streaming=True))
    register(Exporter("csv", "csv", write_csv, "comma-separated; nested fields as JSON strings",
                      streaming=True))
    register(Exporter("parquet", "parquet", write_parquet, "Apache Parquet, typed columns (extra: parquet)",
                      requires=("pyarrow",), extra="parquet", streaming=True))
    register(Exporter("hf", "hf", write_hf, "Hugging Face datasets folder for load_from_disk (extra: hf)",
                      requires=("pyarrow", "datasets"), extra="hf", streaming=True))
    register(Exporter("spacy", "spacy.jsonl", write_spacy,
                      "spaCy-style JSONL: entity offsets for span tasks, cats for choice tasks", streaming=True))
