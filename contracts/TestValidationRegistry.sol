// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

import "./TestIdentityRegistry.sol";

/// @notice Test-only ERC-8004 validation registry: the v2.0.0 events and checks (owner requests,
/// the named validator answers 0..100, again as often as it likes).
contract TestValidationRegistry {
    event ValidationRequest(address indexed validatorAddress, uint256 indexed agentId, string requestURI, bytes32 indexed requestHash);
    event ValidationResponse(
        address indexed validatorAddress,
        uint256 indexed agentId,
        bytes32 indexed requestHash,
        uint8 response,
        string responseURI,
        bytes32 responseHash,
        string tag
    );

    struct Request {
        address validator;
        uint256 agentId;
    }

    TestIdentityRegistry private immutable identity;
    mapping(bytes32 => Request) private requests;

    constructor(TestIdentityRegistry identityRegistry) {
        identity = identityRegistry;
    }

    function validationRequest(address validatorAddress, uint256 agentId, string calldata requestURI, bytes32 requestHash) external {
        require(validatorAddress != address(0), "bad validator");
        require(requests[requestHash].validator == address(0), "exists");
        require(identity.isAuthorizedOrOwner(msg.sender, agentId), "Not authorized");
        requests[requestHash] = Request(validatorAddress, agentId);
        emit ValidationRequest(validatorAddress, agentId, requestURI, requestHash);
    }

    function validationResponse(bytes32 requestHash, uint8 response, string calldata responseURI, bytes32 responseHash, string calldata tag) external {
        Request memory request = requests[requestHash];
        require(request.validator != address(0), "unknown");
        require(request.validator == msg.sender, "not validator");
        require(response <= 100, "resp>100");
        emit ValidationResponse(msg.sender, request.agentId, requestHash, response, responseURI, responseHash, tag);
    }
}
