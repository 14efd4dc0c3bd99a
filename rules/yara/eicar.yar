// The EICAR anti-virus test file: proves the YARA stage runs end to end.
rule eicar_test_file {
  meta:
    description = "EICAR anti-virus test file"
    severity = "high"
    action = "remove"
  strings:
    $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
  condition:
    $eicar
}
