// HTML smuggling: script that assembles a file in the browser and hands it
// over as a download.
rule html_smuggling_blob {
  meta:
    description = "HTML that builds a file from script (atob/Blob) and offers it as a download"
    severity = "high"
    action = "remove"
  strings:
    $save = "msSaveOrOpenBlob" nocase
    $blob = "new Blob" nocase
    $url = "createObjectURL" nocase
    $atob = "atob(" nocase
    $dl = ".download" nocase
    $dl2 = "download=" nocase
  condition:
    $save or ($blob and $url and ($atob or $dl or $dl2))
}
