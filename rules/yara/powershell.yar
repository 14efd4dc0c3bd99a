// PowerShell download cradles: fetch code from the network and run it.
rule powershell_download_cradle {
  meta:
    description = "PowerShell that downloads and runs code (IEX + WebClient / Invoke-WebRequest)"
    severity = "high"
    action = "remove"
  strings:
    $run1 = "IEX" nocase wide ascii
    $run2 = "Invoke-Expression" nocase wide ascii
    $dl1 = "DownloadString" nocase wide ascii
    $dl2 = "DownloadFile" nocase wide ascii
    $dl3 = "Net.WebClient" nocase wide ascii
    $dl4 = "Invoke-WebRequest" nocase wide ascii
    $dl5 = "Start-BitsTransfer" nocase wide ascii
    $enc = /-e(nc|ncodedcommand)?\s+[A-Za-z0-9+\/=]{40,}/ nocase
  condition:
    (any of ($run*) and any of ($dl*)) or $enc
}
