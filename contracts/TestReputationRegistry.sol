// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./TestIdentityRegistry.sol";

/// @notice Test-only ERC-8004 reputation registry: the v2.0.0 events and checks, plus the October
/// 2025 NewFeedback (uint8 score, bytes32 tags) that older deployments left in their logs, and a
/// batch call the bench uses to write many feedbacks in one transaction.
contract TestReputationRegistry {
    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint64 feedbackIndex,
        int128 value,
        uint8 valueDecimals,
        string indexed indexedTag1,
        string tag1,
        string tag2,
        string endpoint,
        string feedbackURI,
        bytes32 feedbackHash
    );
    event NewFeedback(
        uint256 indexed agentId,
        address indexed clientAddress,
        uint8 score,
        bytes32 indexed tag1,
        bytes32 tag2,
        string feedbackUri,
        bytes32 feedbackHash
    );
    event FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, uint64 indexed feedbackIndex);

    int128 private constant MAX_ABS_VALUE = 1e38;
    TestIdentityRegistry private immutable identity;
    mapping(uint256 => mapping(address => uint64)) private lastIndex;
    mapping(uint256 => mapping(address => mapping(uint64 => bool))) private revoked;

    constructor(TestIdentityRegistry identityRegistry) {
        identity = identityRegistry;
    }

    function giveFeedback(
        uint256 agentId,
        int128 value,
        uint8 valueDecimals,
        string memory tag1,
        string memory tag2,
        string memory endpoint,
        string memory feedbackURI,
        bytes32 feedbackHash
    ) public {
        require(valueDecimals <= 18, "too many decimals");
        require(value >= -MAX_ABS_VALUE && value <= MAX_ABS_VALUE, "value too large");
        require(!identity.isAuthorizedOrOwner(msg.sender, agentId), "Self-feedback not allowed");
        uint64 index = ++lastIndex[agentId][msg.sender];
        emit NewFeedback(agentId, msg.sender, index, value, valueDecimals, tag1, tag1, tag2, endpoint, feedbackURI, feedbackHash);
    }

    function giveFeedbackBatch(uint256 agentId, uint32 count, int128 firstValue) external {
        for (uint32 n = 0; n < count; n++) {
            giveFeedback(agentId, firstValue + int128(uint128(n % 50)), 0, "starred", "", "", "", bytes32(0));
        }
    }

    function giveOctober2025Feedback(uint256 agentId, uint8 score, bytes32 tag1, bytes32 tag2, string calldata feedbackUri, bytes32 feedbackHash) external {
        require(score <= 100, "score>100");
        require(!identity.isAuthorizedOrOwner(msg.sender, agentId), "Self-feedback not allowed");
        ++lastIndex[agentId][msg.sender];
        emit NewFeedback(agentId, msg.sender, score, tag1, tag2, feedbackUri, feedbackHash);
    }

    function revokeFeedback(uint256 agentId, uint64 feedbackIndex) external {
        require(feedbackIndex > 0, "index must be > 0");
        require(feedbackIndex <= lastIndex[agentId][msg.sender], "index out of bounds");
        require(!revoked[agentId][msg.sender][feedbackIndex], "Already revoked");
        revoked[agentId][msg.sender][feedbackIndex] = true;
        emit FeedbackRevoked(agentId, msg.sender, feedbackIndex);
    }
}
