// OneNote sections that embed files: the carrier of 2023's OneNote lures
// (a fake "double click to view" button over an embedded script or HTA).
rule onenote_embedded_file {
  meta:
    description = "OneNote section with an embedded file (FileDataStoreObject)"
    severity = "medium"
    action = "score"
  strings:
    $file_data_store = { E7 16 E3 BD 65 26 11 45 A4 C4 8D 4D 0B 7A 9E AC }
  condition:
    uint32(0) == 0x7B5C52E4 and $file_data_store
}
