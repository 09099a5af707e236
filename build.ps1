#!/usr/bin/env pwsh
# ParameterServer.Fast build entry point for Windows (and pwsh anywhere); the same verbs as build.sh:
#   ./build.ps1            build the native shim and the managed code, publish the CLI to artifacts/psf
#   ./build.ps1 test       build, then run ctest and every NUnit project; ends with "N passed, N failed, N skipped"
#   ./build.ps1 run [...]  the main job: psf local with its defaults
#   ./build.ps1 bench [--check] [--quick] [--full]
#   ./build.ps1 clean
param([string]$Verb = "build", [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @())
$ErrorActionPreference = "Stop"
$root = $PSScriptRoot
$artifacts = Join-Path $root "artifacts"
$config = if ($env:PSF_CONFIGURATION) { $env:PSF_CONFIGURATION } else { "Release" }
$env:DOTNET_CLI_TELEMETRY_OPTOUT = "1"; $env:DOTNET_NOLOGO = "1"
Set-Location $root

function Say($text) { Write-Host "==> $text" }
function Require($tool, $install) {
    if (-not (Get-Command $tool -ErrorAction SilentlyContinue)) { throw "'$tool' not found: install $install" }
}

function Build-Native {
    Require cmake "CMake (https://cmake.org or winget install Kitware.CMake)"
    Say "native shim (CMake)"
    cmake -S native -B "$artifacts/native-build" -DCMAKE_BUILD_TYPE=Release | Out-Null
    if ($LASTEXITCODE) { throw "cmake configure failed" }
    cmake --build "$artifacts/native-build" --config Release -j | Out-Null
    if ($LASTEXITCODE) { throw "native build failed" }
    New-Item -ItemType Directory -Force "$artifacts/native" | Out-Null
    Get-ChildItem "$artifacts/native-build" -Recurse -Include "psf_native.dll", "libpsf_native.so", "libpsf_native.dylib" |
        Copy-Item -Destination "$artifacts/native" -Force
}

function Build-Managed {
    Require dotnet "the .NET 10 SDK"
    Say "managed build ($config)"
    dotnet build ParameterServer.Fast.sln -c $config -nologo -clp:ErrorsOnly -v:quiet
    if ($LASTEXITCODE) { throw "managed build failed" }
    dotnet publish src/ParameterServer.Fast.Cli -c $config -o "$artifacts/psf" --no-build -nologo -v:quiet
    if ($LASTEXITCODE) { throw "publish failed" }
}

function Build-All { Build-Native; Build-Managed }

function Run-Tests {
    Build-All
    $results = "$artifacts/test-results"
    Remove-Item -Recurse -Force $results -ErrorAction SilentlyContinue
    $status = 0; $passed = 0; $failed = 0; $skipped = 0
    Say "native tests (ctest)"
    $out = ctest --test-dir "$artifacts/native-build" -C Release --output-on-failure 2>&1 | Out-String
    Write-Host $out
    if ($LASTEXITCODE) { $status = 1 }
    if ($out -match '(\d+) tests failed out of (\d+)') { $failed += [int]$Matches[1]; $passed += [int]$Matches[2] - [int]$Matches[1] }
    Say "managed tests (NUnit)"
    dotnet test ParameterServer.Fast.sln -c $config --no-build -nologo -v:quiet --results-directory $results --logger trx
    if ($LASTEXITCODE) { $status = 1 }
    foreach ($isa in "DOTNET_EnableAVX512", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic") {
        Say "kernel tests with $isa=0"
        Set-Item "env:$isa" "0"
        dotnet test tests/ParameterServer.Fast.Core.Tests -c $config --no-build -nologo -v:quiet --results-directory $results `
            --logger "trx;LogFileName=kernels-$isa.trx" --filter "Category=Kernels"
        if ($LASTEXITCODE) { $status = 1 }
        Remove-Item "env:$isa"
    }
    foreach ($trx in Get-ChildItem $results -Filter *.trx) {
        $counters = ([xml](Get-Content $trx)).TestRun.ResultSummary.Counters
        $passed += [int]$counters.passed; $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout
        $skipped += [int]$counters.notExecuted
    }
    if ($status -ne 0 -and $failed -eq 0) { $failed = 1 }
    Write-Host ""
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    exit $status
}

switch ($Verb) {
    "build" { Build-All; Say "done: artifacts/psf/psf" }
    "test" { Run-Tests }
    "run" { Build-All; & "$artifacts/psf/psf" local @Rest; exit $LASTEXITCODE }
    "bench" {
        $full = $Rest -contains "--full"
        $args2 = @($Rest | Where-Object { $_ -ne "--full" })
        Build-All
        & "$artifacts/psf/psf" bench all --out "$artifacts/bench" @args2
        if ($LASTEXITCODE) { exit $LASTEXITCODE }
        if ($full) { dotnet run -c $config --project perf/ParameterServer.Fast.Benchmarks -- --filter '*' --join }
    }
    "clean" { Remove-Item -Recurse -Force $artifacts -ErrorAction SilentlyContinue }
    default { throw "unknown verb '$Verb': use build, test, run, bench or clean" }
}
