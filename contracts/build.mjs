#!/usr/bin/env node
// Compiles every contracts/*.sol with solc-js (the `solc` npm package pinned in package.json)
// and writes one artifact per deployable contract to payments/contracts/artifacts/<Name>.json.
//
//   node contracts/build.mjs           build (rewrites artifacts, removes stale ones)
//   node contracts/build.mjs --check   compile in memory; exit 1 if any artifact on disk differs
//
// Output is deterministic (fixed key order, 2-space indent, trailing newline), so CI can also
// rebuild and run `git diff --exit-code payments/contracts/artifacts`.

import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

const EXPECTED_SOLC = '0.8.37'
// Base (OP Stack) and anvil's default hardfork both support cancun opcodes (PUSH0, MCOPY, ...).
const SETTINGS = Object.freeze({
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
})

const contractsDir = dirname(fileURLToPath(import.meta.url))
const repoRoot = dirname(contractsDir)
const artifactsDir = join(repoRoot, 'payments', 'contracts', 'artifacts')
const toPosix = (p) => p.split('\\').join('/')

function fail(message) {
  console.error(`build.mjs: ${message}`)
  process.exit(1)
}

function loadSolc() {
  let solc
  try {
    solc = require('solc')
  } catch {
    fail('the `solc` npm package is missing: run `npm ci` in the repository root')
  }
  const version = solc.version()
  if (!version.startsWith(`${EXPECTED_SOLC}+`)) {
    fail(`expected solc ${EXPECTED_SOLC}, found ${version}: run \`npm ci\``)
  }
  return solc
}

function readSources() {
  const files = readdirSync(contractsDir)
    .filter((f) => f.endsWith('.sol'))
    .sort()
  if (files.length === 0) fail(`no .sol files in ${contractsDir}`)
  const sources = {}
  for (const file of files) {
    const sourceName = toPosix(relative(repoRoot, join(contractsDir, file)))
    sources[sourceName] = readFileSync(join(contractsDir, file), 'utf8')
  }
  return sources
}

function compile(solc, sources) {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(
      Object.entries(sources).map(([name, content]) => [name, { content }]),
    ),
    settings: {
      optimizer: SETTINGS.optimizer,
      evmVersion: SETTINGS.evmVersion,
      outputSelection: {
        '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] },
      },
    },
  }
  const findImports = (path) => ({ error: `imports are not supported (${path}): keep contracts self-contained` })
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }))

  let errors = 0
  for (const diag of output.errors ?? []) {
    const text = (diag.formattedMessage ?? diag.message).trimEnd()
    if (diag.severity === 'error') {
      errors += 1
      console.error(text)
    } else {
      console.warn(text)
    }
  }
  if (errors > 0) fail(`compilation failed with ${errors} error(s)`)
  return output
}

function buildArtifacts(solc, sources, output) {
  const artifacts = new Map()
  for (const sourceName of Object.keys(sources).sort()) {
    const contracts = output.contracts?.[sourceName] ?? {}
    for (const contractName of Object.keys(contracts).sort()) {
      const c = contracts[contractName]
      const bytecode = c.evm?.bytecode?.object ?? ''
      // Interfaces and abstract contracts have no bytecode: nothing to deploy.
      if (bytecode === '') continue
      if (artifacts.has(contractName)) {
        fail(`contract name ${contractName} is defined more than once`)
      }
      const artifact = {
        contractName,
        sourceName,
        compiler: { name: 'solc', version: solc.version() },
        settings: {
          optimizer: { enabled: SETTINGS.optimizer.enabled, runs: SETTINGS.optimizer.runs },
          evmVersion: SETTINGS.evmVersion,
        },
        sourceSha256: createHash('sha256').update(sources[sourceName], 'utf8').digest('hex'),
        abi: c.abi,
        bytecode: `0x${bytecode}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
      }
      artifacts.set(contractName, `${JSON.stringify(artifact, null, 2)}\n`)
    }
  }
  if (artifacts.size === 0) fail('no deployable contracts found')
  return artifacts
}

function existingArtifactFiles() {
  if (!existsSync(artifactsDir)) return []
  return readdirSync(artifactsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
}

function check(artifacts) {
  const problems = []
  for (const [name, text] of artifacts) {
    const path = join(artifactsDir, `${name}.json`)
    if (!existsSync(path)) problems.push(`missing: ${toPosix(relative(repoRoot, path))}`)
    else if (readFileSync(path, 'utf8') !== text) {
      problems.push(`out of date: ${toPosix(relative(repoRoot, path))}`)
    }
  }
  for (const file of existingArtifactFiles()) {
    if (!artifacts.has(file.slice(0, -'.json'.length))) {
      problems.push(`stale (no such contract): ${toPosix(relative(repoRoot, join(artifactsDir, file)))}`)
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(p)
    console.error('artifacts are not current: run `node contracts/build.mjs`')
    process.exit(1)
  }
  console.log(`artifacts are current (${[...artifacts.keys()].join(', ')})`)
}

function write(artifacts) {
  mkdirSync(artifactsDir, { recursive: true })
  for (const file of existingArtifactFiles()) {
    if (!artifacts.has(file.slice(0, -'.json'.length))) {
      rmSync(join(artifactsDir, file))
      console.log(`removed stale ${file}`)
    }
  }
  for (const [name, text] of artifacts) {
    const path = join(artifactsDir, `${name}.json`)
    const previous = existsSync(path) ? readFileSync(path, 'utf8') : null
    if (previous !== text) writeFileSync(path, text)
    console.log(`${previous === text ? 'unchanged' : 'wrote'} ${toPosix(relative(repoRoot, path))}`)
  }
}

function main(argv) {
  const unknown = argv.filter((a) => a !== '--check')
  if (unknown.length > 0) fail(`unknown argument(s): ${unknown.join(' ')} (usage: build.mjs [--check])`)
  const solc = loadSolc()
  const sources = readSources()
  const output = compile(solc, sources)
  const artifacts = buildArtifacts(solc, sources, output)
  if (argv.includes('--check')) check(artifacts)
  else write(artifacts)
}

main(process.argv.slice(2))
