Get-ChildItem C:\Reports | Where-Object Length -gt 1MB | Export-Csv big.csv
