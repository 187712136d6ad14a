import { parseAbi } from 'viem';

/**
 * The ERC-8004 registry events the indexer reads, as the contracts declare them. The registries are
 * upgradeable proxies, so one address carries logs of several versions: they are told apart by
 * topic0 (the hash of the full signature), never by event name, and each version has its own ABI.
 *
 * Sources: ethereum/ERCs ERCS/erc-8004.md and the erc-8004/erc-8004-contracts registries, version
 * 2.0.0 (deployed January 2026); the October 2025 contracts (erc-8004/erc-8004, version 1.0.0);
 * and the short-lived 1.1.0 (January 2026) whose NewFeedback carried a uint8 score.
 */

export const identityEvents = parseAbi([
  'event Registered(uint256 indexed agentId, string agentURI, address indexed owner)',
  'event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy)',
  'event MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, bytes metadataValue)',
  'event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)',
]);

/** October 2025: the URI event was named UriUpdated, so its topic differs. */
export const identityEventsOctober2025 = parseAbi(['event UriUpdated(uint256 indexed agentId, string newUri, address indexed updatedBy)']);

export const identityReads = parseAbi([
  'function ownerOf(uint256 agentId) view returns (address)',
  'function tokenURI(uint256 agentId) view returns (string)',
]);

export const reputationEvents = parseAbi([
  'event NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, int128 value, uint8 valueDecimals, string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
  'event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex)',
]);

/** 1.1.0 (January 2026): a uint8 score out of 100 instead of value / valueDecimals. */
export const reputationEvents110 = parseAbi([
  'event NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, uint8 score, string indexed indexedTag1, string tag1, string tag2, string endpoint, string feedbackURI, bytes32 feedbackHash)',
]);

/** October 2025: a uint8 score, bytes32 tags, and no feedbackIndex in the event (it counted from 1 per client all the same). */
export const reputationEventsOctober2025 = parseAbi([
  'event NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint8 score, bytes32 indexed tag1, bytes32 tag2, string feedbackUri, bytes32 feedbackHash)',
]);

export const validationEvents = parseAbi([
  'event ValidationResponse(address indexed validatorAddress, uint256 indexed agentId, bytes32 indexed requestHash, uint8 response, string responseURI, bytes32 responseHash, string tag)',
]);

/** October 2025: the tag was bytes32. */
export const validationEventsOctober2025 = parseAbi([
  'event ValidationResponse(address indexed validatorAddress, uint256 indexed agentId, bytes32 indexed requestHash, uint8 response, string responseUri, bytes32 responseHash, bytes32 tag)',
]);
